export * from './redis-transport'
export * from './redis-errors'
export { RedisPartitionReader } from './redis-partition-reader'
export { RedisPublisher } from './redis-publisher'
