// Errors: RabbitMQ failing as the platform's `unavailable`, and source names a queue name cannot carry
export { attempt, brokerError, BrokerUnavailable, InvalidSourceName } from './rabbitmq-errors'

// Transport: RabbitMQ streams, a stream queue per partition of a source, published with confirms, read by offset
export { rabbitmqTransport, RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq-transport'
export { RabbitMqPublisher } from './rabbitmq-publisher'
export { RabbitMqPartitionReader } from './rabbitmq-partition-reader'

// Names: the stream queue that holds each partition of a source
export { queueName } from './names'
