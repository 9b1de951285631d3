// Connections: a reconnecting command connection that fails commands after a few attempts
export { commandConnection } from './redis-connection'

// Errors: Redis failing as the platform's `unavailable`
export { attempt, brokerError, BrokerUnavailable } from './redis-errors'

// Transport: Redis Streams, a stream per partition of a source, read through a consumer group per consumer
export { redisTransport, RedisTransport, type RedisTransportOptions } from './transport/redis-transport'
export { RedisPublisher } from './transport/redis-publisher'
export { RedisPartitionReader } from './transport/redis-partition-reader'

// Names: the stream that holds each partition of a source
export { streamKey } from './transport/names'

// Documents: the documents port on Redis, a hash per document, every write one atomic script
export { redisDocuments, RedisDocuments, type RedisDocumentsOptions } from './documents/redis-documents'
export { RedisDocumentStore } from './documents/redis-document-store'

// Evictions: the eviction bus over Redis pub/sub
export { redisEvictionBus, RedisEvictionBus, type RedisEvictionBusOptions } from './evictions/redis-eviction-bus'
