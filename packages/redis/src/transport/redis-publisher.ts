import { comparePositions, ConfirmWindow, isPosition, partitionOf, START, type Envelope, type Position, type Publisher } from '@tidings/core'
import type { RedisLink } from '../redis-connection'
import { attempt, brokerError } from '../redis-errors'
import { envelopeField, type StreamEntry } from './stream-entry'

/**
 * Publishes envelopes with XADD, each to its key's partition stream (field `e` the envelope as JSON, field
 * `id` its id), pipelined on the one command connection: up to `maxInFlight` await their answer at once,
 * across overlapping batches (`ConfirmWindow`: a batch goes out after the one before it, and a failure
 * fails the batches queued behind it).
 *
 * Redis has no dedupe by message id, and a failed XADD may be followed by later ones, already sent, being
 * stored. The relay publishes a failed batch again, so events stored the first time are on the stream twice
 * (as after a relay crash before it saved its progress), and some may be stored ahead of a missing earlier
 * event. The relay chains each partition's messages for a broker that stores repeats (`deduplicates` is
 * false): consumers skip a copy stored ahead of a missing event, apply the repeat in order, and their
 * inboxes drop the rest (the contract suite tests exactly that). No MULTI is needed for that, and none is
 * paid for.
 *
 * Durability: Redis acknowledges an XADD once it is in memory and in the append-only file's buffer; only
 * with `appendfsync always` is that on disk. Under the default (`everysec`), a crash of the Redis host can
 * lose the last second of events the relay saw confirmed. (The shared test server keeps nothing on disk;
 * the throwaway server of the restart tests runs with `appendfsync always`.)
 */
export class RedisPublisher implements Publisher {
  /** Streams store what they are given: a repeat is a new entry (consumers' inboxes drop it). */
  readonly deduplicates = false
  private window: ConfirmWindow

  constructor(
    private readonly redis: RedisLink,
    private readonly keyOf: (source: string, partition: number) => string,
    readonly partitions: number,
    private readonly maxInFlight: number,
    private readonly maxLen: number | undefined,
  ) {
    this.window = new ConfirmWindow(maxInFlight)
  }

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return
    const keys = Array.from({ length: this.partitions }, (_, p) => this.keyOf(source, p))
    const trim = this.maxLen === undefined ? [] : ['MAXLEN', '~', this.maxLen]
    const operation = `publish to ${this.keyOf(source, 0).replace(/:0$/, ':*')}`
    const window = this.window
    try {
      await window.publish(events, (event) => this.redis.xadd(keys[partitionOf(event.key, this.partitions)]!, ...trim, '*', 'e', JSON.stringify(event), 'id', event.id))
    } catch (error) {
      // The batches queued behind this one fail with it; the next publish starts a window of its own.
      if (this.window === window) this.window = new ConfirmWindow(this.maxInFlight)
      throw brokerError(operation, error)
    }
  }

  /**
   * The lowest, over the partitions, of the producer position of each one's last entry. Redis acknowledges
   * an XADD before it is on disk (`appendfsync everysec` by default): a crash can lose the last second of
   * confirmed entries, and the relay, finding this below its saved progress, publishes them again. New
   * entries take ids above the lost ones, so consumers read on into the repeats (inboxes drop what they
   * had).
   */
  async storedUpTo(source: string): Promise<Position | undefined> {
    const operation = `read the last entries of ${this.keyOf(source, 0).replace(/:0$/, ':*')}`
    const lasts = await Promise.all(
      Array.from({ length: this.partitions }, async (_, p) => {
        const [entry] = (await attempt(operation, () => this.redis.xrevrange(this.keyOf(source, p), '+', '-', 'COUNT', 1))) as StreamEntry[]
        return entry ? producerPosition(envelopeField(entry[1])) : START
      }),
    )
    const known = lasts.filter((position) => position !== undefined)
    return known.length === 0 ? undefined : known.reduce((lowest, position) => (comparePositions(position, lowest) < 0 ? position : lowest))
  }

  async close(): Promise<void> {}
}

/** The producer position an entry's envelope carries; undefined for an entry that is not the relay's. */
function producerPosition(json: string | undefined): Position | undefined {
  try {
    const position = json === undefined ? undefined : (JSON.parse(json) as { position?: unknown }).position
    return isPosition(position) ? position : undefined
  } catch {
    return undefined
  }
}
