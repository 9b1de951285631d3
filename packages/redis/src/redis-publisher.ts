import { ConfirmWindow, partitionOf, type Envelope, type Publisher } from '@tidings/core'
import type { RedisLink } from './redis-connection'
import { attempt, brokerError, BrokerUnavailable } from './redis-errors'

/**
 * Publishes envelopes with XADD, each to its key's partition stream (field `e` the envelope as JSON, field
 * `id` its id), in chunks of half of `maxInFlight`: each chunk goes as one MULTI/EXEC, sent in one
 * pipeline, and at most two chunks await their answer at once, across overlapping batches
 * (`ConfirmWindow`: a batch goes out after the one before it, and a failure fails the batches queued behind).
 *
 * A chunk is stored whole or not at all, and chunks in order on the one connection. A failed chunk may
 * still be followed by the next one, already sent, being stored; the relay chains each partition's
 * messages for a broker that stores repeats (`deduplicates` is false), so consumers skip what was stored
 * ahead of a missing event and apply its repeat in order. The relay
 * publishes a failed batch again, and Redis has no dedupe by message id: the events stored the first time
 * are then on the stream twice (as after a relay crash before it saved its progress), in per-key order, and
 * each consumer's inbox drops the repeats (the contract suite tests exactly that).
 *
 * Durability: Redis acknowledges an XADD once it is in memory and in the append-only file's buffer; only
 * with `appendfsync always` is that on disk. Under the default (`everysec`), a crash of the Redis host can
 * lose the last second of events the relay saw confirmed. (The shared test server keeps nothing on disk;
 * the throwaway server of the restart tests runs with `appendfsync always`.)
 */
export class RedisPublisher implements Publisher {
  /** Streams store what they are given: a repeat is a new entry (consumers' inboxes drop it). */
  readonly deduplicates = false
  /** Two chunks of half the in-flight bound each: Redis stores one while the client builds the next. */
  private window = new ConfirmWindow(2)
  private readonly chunkSize: number

  constructor(
    private readonly redis: RedisLink,
    private readonly keyOf: (source: string, partition: number) => string,
    readonly partitions: number,
    maxInFlight: number,
    private readonly maxLen: number | undefined,
  ) {
    this.chunkSize = Math.max(1, Math.floor(maxInFlight / 2))
  }

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return
    const keys = Array.from({ length: this.partitions }, (_, p) => this.keyOf(source, p))
    const trim = this.maxLen === undefined ? [] : ['MAXLEN', '~', this.maxLen]
    const operation = `publish to ${this.keyOf(source, 0).replace(/:0$/, ':*')}`
    const chunks = Array.from({ length: Math.ceil(events.length / this.chunkSize) }, (_, i) => events.slice(i * this.chunkSize, (i + 1) * this.chunkSize))
    const window = this.window
    try {
      await window.publish(chunks, async (chunk) => {
        const transaction = this.redis.multi()
        for (const event of chunk) transaction.xadd(keys[partitionOf(event.key, this.partitions)]!, ...trim, '*', 'e', JSON.stringify(event), 'id', event.id)
        const results = await attempt(operation, () => transaction.exec())
        if (!results) throw new BrokerUnavailable(operation, 'the transaction was discarded')
        for (const [error] of results) if (error) throw brokerError(operation, error)
      })
    } catch (error) {
      // The batches queued behind this one fail with it; the next publish starts a window of its own.
      if (this.window === window) this.window = new ConfirmWindow(2)
      throw error
    }
  }

  async close(): Promise<void> {}
}
