import type { Envelope } from './envelope'
import type { FeedReader } from './feed-reader'
import type { Position } from './position'

const utf8 = new TextEncoder()

/**
 * Which of a source's partitions an event goes to: decided by its key (FNV-1a, 32 bits), so one key's
 * events always share a partition and keep their order there. Stable across processes and versions.
 */
export function partitionOf(key: string, partitions: number): number {
  checkPositiveInteger('partitions', partitions)
  let hash = 0x811c9dc5
  for (const byte of utf8.encode(key)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash % partitions
}

/** Refuses any of `values` that is not a positive integer, naming it: a transport's settings, a read's limit. */
export function checkPositiveIntegers(values: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(values)) checkPositiveInteger(name, value)
}

/** The same for one value, without building a record (for a check on every event). */
export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, not ${value}`)
}

/** Refuses a partition reader that names no partition of `partitions`, or no consumer. */
export function checkPartitionReader(partition: number, partitions: number, consumer: string): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
    throw new RangeError(`partition must be an integer in [0, ${partitions}), not ${partition}`)
  }
  if (consumer.length === 0) throw new RangeError('a reader needs a consumer name')
}

/** The name a partition of a source is checkpointed under: `board.comment#3`. */
export const partitionSource = (source: string, partition: number): string => `${source}#${partition}`

/** A source's events on their way to a broker. */
export interface Publisher {
  /** How many partitions it spreads a source over (the transport's). */
  readonly partitions: number
  /**
   * Whether the broker drops a message it has already stored when its id comes again (NATS). Without that,
   * a batch published again is stored again in full, so a copy stored ahead of a refused earlier message is
   * followed by a repeat in order; the relay then chains each partition's messages (`chainPartitions`) and
   * consumers skip such a copy.
   */
  readonly deduplicates: boolean
  /**
   * Publishes events of one source in the order given, each to the partition of its key, and resolves once
   * the broker has confirmed every one as stored; the event id goes along as the broker's dedupe id where
   * it has one. Rejects when any is not confirmed (then none of them counts as published).
   *
   * Calls may overlap (the relay sends a page while the one before it awaits its confirms): a call's
   * events go out after those of every earlier call, and once a call has failed, the calls queued behind
   * it fail without sending anything more (`ConfirmWindow`), so no batch is stored behind a hole on a
   * fresh connection.
   */
  publish(source: string, events: readonly Envelope[]): Promise<void>
  /**
   * How far the broker still holds a source: the lowest, over its partitions, of the producer position of
   * each partition's last message (START for an empty one; a partition whose last message is not the
   * relay's is left out, and undefined when all are). Every page the relay publishes ends with a
   * message in every partition (the event or a watermark), so this is below the relay's saved progress
   * only where the broker lost messages it had confirmed; the relay then publishes them again. Only for a
   * broker whose consumers read on past a lost tail without noticing (Redis: entry ids only grow), and
   * take the repeats: where a lost tail's offsets are reused (NATS, RabbitMQ), the readers stop with
   * `BROKER_LOST_MESSAGES` instead, and publishing again would hide that.
   */
  storedUpTo?(source: string): Promise<Position | undefined>
  close(): Promise<void>
}

/** One partition of a source on a broker, read by offset: positions are the broker's, as `<a>-<b>`. */
export interface PartitionReader extends FeedReader {
  close(): Promise<void>
}

/**
 * A broker as Tidings uses it: a publisher for the relay, and every partition of a source as a feed that
 * consumers read by their own offset (their checkpoint, committed with their inbox). Where the broker
 * keeps durable consumers, the reader acknowledges up to the position it is asked to read after — only
 * what a consumer has committed — so the broker's view of the consumer follows the checkpoint.
 */
export interface Transport {
  readonly name: string
  /** How many partitions every source is split into. */
  readonly partitions: number
  /** Creates what the broker needs for a source (streams, queues); safe to call again. */
  declare(source: string): Promise<void>
  publisher(): Publisher
  partition(source: string, partition: number, consumer: string): PartitionReader
  close(): Promise<void>
}
