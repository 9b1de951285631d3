export * from './nats-transport'
export * from './broker-errors'
export { consumerName, partitionSubject, sourceSubjects, streamName } from './names'
