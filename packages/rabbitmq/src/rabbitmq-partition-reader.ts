import {
  BrokerLostMessages,
  checkPositiveIntegers,
  envelopeFromBroker,
  formatPosition,
  InvalidPosition,
  occurredAtOf,
  parsePosition,
  partitionSource,
  type FeedLag,
  type FeedPage,
  type PartitionReader,
  type Position,
  type ReadOptions,
} from '@tidings/core'
import type { Connection } from 'rabbitmq-client'
import { StreamConsumer, type StreamMessage } from './stream-consumer'

/** A long poll shorter than this is not worth waiting for. */
const MIN_WAIT_MS = 5

export interface PartitionReaderSettings {
  /** The transport's connection, shared by its readers (each has channels of its own). */
  connection: Connection
  producer: string
  partition: number
  queue: string
  /** Unacknowledged messages the stream may send ahead of the pages handed out. */
  prefetch: number
  /** How long a consumer with nothing delivered yet waits before a read calls its partition empty. */
  settleMs: number
  timeoutMs: number
  onClose?: () => void
}

/**
 * One partition of a source: the stream queue `<prefix>.<source>.<p>`, read by offset. A message's
 * position is `0-<offset + 1>` (the stream's first message, offset 0, is `0-1`, so START sorts before it),
 * and `read(after)` continues at the offset `after` names.
 *
 * RabbitMQ keeps no consumer progress for AMQP 0.9.1 stream consumers, so the consumer's checkpoint is
 * the only one and nothing on the broker follows it. A reader has one consumer at a time (see
 * `StreamConsumer`) and hands out what it delivered in order. When `after` is not where the last page
 * ended — the first read of this instance, a rewind (a rebuild from START), a page the caller did not
 * commit — or the consumer failed, it is dropped with its channel and a new one attaches at `after`'s
 * offset: nothing after `after` is skipped, and nothing before it comes again. A stream that ends before
 * `after` (a node that came back without its tail, or a stream made again) is `BrokerLostMessages`: its
 * next messages would take the offsets already read, and reading on would skip them.
 *
 * Acknowledgements only give the consumer credit, so what a page hands out is acknowledged at once; a
 * page that is not committed is simply read again (by re-positioning). An empty page waits for the next
 * delivery, cut short by the abort signal and failed at once when the connection drops.
 */
export class RabbitMqPartitionReader implements PartitionReader {
  readonly source: string
  private consumer: StreamConsumer | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private readonly closing = new AbortController()

  constructor(private readonly settings: PartitionReaderSettings) {
    this.source = partitionSource(settings.producer, settings.partition)
  }

  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    const from = sequenceOf(after)
    checkPositiveIntegers({ limit })
    const { waitMs = 0, signal } = options
    const stops = signal ? [signal, this.closing.signal] : [this.closing.signal]
    if (stops.some((stop) => stop.aborted)) return { items: [], next: after }
    // One read at a time: each moves the consumer this reader keeps.
    const page = this.queue.then(() => this.readNow(after, from, limit, performance.now() + waitMs, stops))
    this.queue = page.catch(() => {})
    return page
  }

  private async readNow(after: Position, from: bigint, limit: number, deadline: number, stops: AbortSignal[]): Promise<FeedPage> {
    let consumer = this.consumer
    if (!consumer || consumer.failure || consumer.cursor !== from) consumer = await this.reposition(from)
    try {
      let filled = false
      for (;;) {
        // A short page while deliveries are still coming in (a stream sends chunk after chunk): first
        // collect what the broker has sent so far (once), so a page is as full as the stream allows.
        if (!filled && consumer.buffered > 0 && consumer.buffered < limit && consumer.unsettled) {
          filled = true
          await consumer.barrier()
        }
        const taken = consumer.take(limit)
        if (taken.length > 0) return this.page(taken)
        if (stops.some((stop) => stop.aborted)) return { items: [], next: after }
        if (consumer.failure) throw consumer.failure
        if (!consumer.delivered) {
          // Nothing came yet: an empty answer is only believed after settleMs (or the caller's longer wait).
          const until = Math.max(deadline, consumer.openedAt + this.settings.settleMs)
          if (performance.now() >= until) return { items: [], next: after }
          await consumer.arrival(until, stops)
        } else if (consumer.unsettled) {
          await consumer.barrier()
        } else if (deadline - performance.now() >= MIN_WAIT_MS) {
          await consumer.arrival(deadline, stops)
        } else {
          return { items: [], next: after }
        }
      }
    } catch (error) {
      if (this.consumer === consumer) this.consumer = undefined
      await consumer.close()
      throw error
    }
  }

  private async reposition(from: bigint): Promise<StreamConsumer> {
    const previous = this.consumer
    this.consumer = undefined
    await previous?.close()
    const { connection, queue, prefetch, timeoutMs } = this.settings
    // A stream that ends before what was read lost messages (a node that came back without its tail), or
    // was made again: its next messages would take those offsets, and reading on would skip them. An empty
    // answer is believed only after timeoutMs: a slow broker must not pass for one that lost everything.
    if (from > 0n) {
      const end = await this.probe('last', 0n, timeoutMs, (c) => c.highest)
      if (end < from) throw new BrokerLostMessages('RabbitMQ', this.source, positionOf(end), positionOf(from))
    }
    // Attached at the message `after` names (offset from - 1), which the caller has: once it is delivered
    // again (and dropped), the consumer knows the stream has been read up to there.
    const offset = from > 0n ? from - 1n : 0n
    this.consumer = await StreamConsumer.open({ connection, queue, offset, after: from, prefetch, timeoutMs })
    return this.consumer
  }

  private page(messages: StreamMessage[]): FeedPage {
    const receivedAt = new Date()
    const items = messages.map((message) =>
      envelopeFromBroker({ text: message.text, position: positionOf(message.seq), producer: this.settings.producer, partition: this.source, receivedAt }),
    )
    return { items, next: items.at(-1)!.position! }
  }

  /**
   * The messages after `after`: from the stream's last offset (a consumer attached at its last chunk) and
   * the first message after `after` (one attached there), which also tells when the oldest unread
   * occurred. Offsets of a stream written over AMQP have no gaps, so the difference is the count. An
   * empty stream delivers nothing: that answer (no lag) takes settleMs.
   */
  async lag(after: Position): Promise<FeedLag> {
    const from = sequenceOf(after)
    const { settleMs, timeoutMs } = this.settings
    const tail = await this.probe('last', 0n, settleMs, (c) => c.highest)
    if (tail <= from) return { events: 0 }
    // There is something after `from` (unless retention removed it meanwhile): it comes within a timeout.
    const first = await this.probe(from, from, timeoutMs, (c) => c.take(1)[0])
    if (!first) return { events: 0 }
    return { events: Number(tail - first.seq + 1n), oldestUnreadAt: occurredAtOf(first.text, first.storedAt) }
  }

  /** A short-lived consumer at `offset` (prefetch 1: one chunk), asked once everything it got is in. */
  private async probe<T>(offset: bigint | 'last', after: bigint, waitMs: number, answer: (consumer: StreamConsumer) => T): Promise<T> {
    const { connection, queue, timeoutMs } = this.settings
    const consumer = await StreamConsumer.open({ connection, queue, offset, after, prefetch: 1, timeoutMs })
    try {
      await consumer.arrival(consumer.openedAt + waitMs, [this.closing.signal])
      if (consumer.failure) throw consumer.failure
      if (consumer.delivered) await consumer.barrier()
      return answer(consumer)
    } finally {
      await consumer.close()
    }
  }

  async close(): Promise<void> {
    this.settings.onClose?.()
    this.closing.abort()
    await this.queue
    await this.consumer?.close()
    this.consumer = undefined
  }
}

/** The position of a stream message: `0-<offset + 1>`. */
export const positionOf = (seq: bigint): Position => formatPosition({ xid: 0n, seq })

/** A broker position is `0-<offset + 1>` (or START); anything else is not this feed's. */
function sequenceOf(position: Position): bigint {
  const point = parsePosition(position)
  if (point.xid !== 0n) throw new InvalidPosition(position)
  return point.seq
}
