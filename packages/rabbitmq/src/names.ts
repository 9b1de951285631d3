import { InvalidSourceName } from './rabbitmq-errors'

/** RabbitMQ's limit on a queue name, in bytes of UTF-8. */
const MAX_QUEUE_NAME_BYTES = 255

/**
 * The stream queue that holds one partition of a source: `<prefix>.<source>.<partition>`, e.g.
 * `tidings.board.comment.3`. No two (source, partition) pairs share a name: the partition is the last
 * dot-separated part and has no dot of its own, so the name splits back one way only. Names starting with
 * `amq.` are RabbitMQ's own, hence a prefix; a name longer than 255 bytes is refused.
 */
export function queueName(prefix: string, source: string, partition: number): string {
  if (source.length === 0 || source.includes('\u0000')) throw new InvalidSourceName(source)
  const name = `${prefix}.${source}.${partition}`
  if (Buffer.byteLength(name) > MAX_QUEUE_NAME_BYTES) throw new InvalidSourceName(source)
  return name
}

/** A prefix the transport can put in front of every queue name. */
export function checkPrefix(prefix: string): string {
  if (prefix.length === 0 || prefix.startsWith('amq.') || prefix === 'amq' || prefix.includes('\u0000')) {
    throw new RangeError(`prefix must be non-empty and not RabbitMQ's own (amq.…), not ${JSON.stringify(prefix)}`)
  }
  return prefix
}
