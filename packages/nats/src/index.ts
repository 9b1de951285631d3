// Errors: NATS failing as the platform's `unavailable`, and source names a subject cannot carry
export { attempt, brokerError, BrokerUnavailable, InvalidSourceName } from './nats-errors'

// Transport: NATS JetStream, a stream per source and a subject per partition, read through durable consumers
export { natsTransport, NatsTransport, type NatsTransportOptions } from './nats-transport'

// Names: the streams, subjects and durable consumers a transport uses on the server
export { consumerName, partitionSubject, sourceSubjects, streamName } from './names'
