import { checkPositiveIntegers, envelopeFromBroker, occurredAtOf, parsePosition, partitionSource, type Envelope, type FeedLag, type FeedPage, type PartitionReader, type Position, type ReadOptions } from '@tidings/core'
import type { Redis } from 'ioredis'
import { blockingConnection, closeConnection, type RedisLink } from '../redis-connection'
import { attempt, BrokerUnavailable, brokerError } from '../redis-errors'
import { envelopeField, type StreamEntry } from './stream-entry'

/** A long poll shorter than this is not worth a blocking read. */
const MIN_WAIT_MS = 5
/** Entries the lag script counts per step. */
const LAG_CHUNK = 1_000

export interface PartitionReaderSettings {
  /** Where the reader's own blocking connection goes. */
  url: string
  /** The transport's command connection, shared by all its readers and publishers. */
  redis: RedisLink
  producer: string
  partition: number
  consumer: string
  key: string
  onClose?: () => void
}

/**
 * One partition of a source: the stream `<prefix>:<source>:<p>`, read by offset. Entry ids (`<ms>-<seq>`)
 * are already positions in Tidings' format, so they are the positions handed out; START ('0') reads from
 * the beginning.
 *
 * Pages are delivered through a consumer group named after the consumer (read through the group, not
 * only mirrored into it), so that Redis shows each consumer's progress: XINFO GROUPS' last-delivered-id,
 * and XPENDING for what was delivered but not yet committed. Every `read(after)` is one script
 * (READ_PAGE): it moves the group's last-delivered id to `after` unless it is there already, XACKs every
 * pending entry up to `after` — what the caller has committed, since it asks from its checkpoint — and
 * reads on with XREADGROUP `>`. A continuation of the last page changes nothing but the delivery; a first
 * read, a rewind (a rebuild from START), a page that was not committed, or another instance of the consumer
 * having moved the group re-positions it atomically, so nothing after `after` is ever skipped.
 *
 * An empty page waits with XREAD BLOCK by offset (it only says that the stream grew; the page is then
 * delivered through the group) on a connection of the reader's own, cut short by the abort signal
 * with CLIENT UNBLOCK and failed at once when that connection drops.
 */
export class RedisPartitionReader implements PartitionReader {
  readonly source: string
  private readonly redis: RedisLink
  private blocker: Redis | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private readonly closing = new AbortController()

  constructor(private readonly settings: PartitionReaderSettings) {
    this.source = partitionSource(settings.producer, settings.partition)
    this.redis = settings.redis
  }

  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    parsePosition(after) // an invalid position is the caller's error (kind validation), not Redis'
    checkPositiveIntegers({ limit })
    const { waitMs = 0, signal } = options
    const stops = signal ? [signal, this.closing.signal] : [this.closing.signal]
    if (stops.some((stop) => stop.aborted)) return { items: [], next: after }
    // One read at a time: they share the blocking connection.
    const page = this.queue.then(() => this.readNow(after, limit, waitMs, stops))
    this.queue = page.catch(() => {})
    return page
  }

  private async readNow(after: Position, limit: number, waitMs: number, stops: AbortSignal[]): Promise<FeedPage> {
    const deadline = performance.now() + waitMs
    for (;;) {
      const { key, consumer } = this.settings
      const entries = await attempt(`read ${key}`, async () => entriesOf(await this.redis.tidingsReadPage(key, consumer, consumer, after, limit)))
      if (entries.length > 0) {
        const receivedAt = new Date()
        const items = entries.map(([position, fields]): Envelope => envelopeFromBroker({ text: envelopeField(fields), raw: JSON.stringify(fields), position, producer: this.settings.producer, partition: this.source, receivedAt }))
        return { items, next: items.at(-1)!.position! }
      }
      const left = deadline - performance.now()
      if (left < MIN_WAIT_MS || stops.some((stop) => stop.aborted)) return { items: [], next: after }
      if (!(await this.waitForEntry(after, left, stops))) return { items: [], next: after }
    }
  }

  /** Blocks until the stream has an entry after `after` (true), the time is up or a stop fires (false). */
  private waitForEntry(after: Position, waitMs: number, stops: AbortSignal[]): Promise<boolean> {
    const { key } = this.settings
    const blocker = (this.blocker ??= blockingConnection(this.settings.url, `tidings:wait:${this.settings.consumer}:${this.source}`.replace(/\s/g, '_')))
    // Sent together: the id names this connection to CLIENT UNBLOCK, across reconnects.
    const clientId = blocker.call('CLIENT', 'ID')
    const blocked = blocker.call('XREAD', 'COUNT', 1, 'BLOCK', Math.ceil(waitMs), 'STREAMS', key, after)
    clientId.catch(() => {})
    return new Promise<boolean>((resolve, reject) => {
      let done = false
      const finish = (): boolean => {
        if (done) return false
        done = true
        for (const stop of stops) stop.removeEventListener('abort', onStop)
        blocker.off('close', onClose)
        return true
      }
      const onStop = (): void => {
        if (!finish()) return
        resolve(false)
        // Frees the connection for the next wait; failing that, the block ends by itself.
        void clientId.then((id) => this.redis.call('CLIENT', 'UNBLOCK', id as number)).catch(() => {})
      }
      const onClose = (): void => {
        if (finish()) reject(new BrokerUnavailable(`wait on ${key}`, 'lost the connection to Redis'))
      }
      for (const stop of stops) stop.addEventListener('abort', onStop, { once: true })
      blocker.once('close', onClose)
      blocked.then(
        (reply) => {
          if (finish()) resolve(Array.isArray(reply) && reply.length > 0)
        },
        (error: unknown) => {
          if (finish()) reject(brokerError(`wait on ${key}`, error))
        },
      )
      if (stops.some((stop) => stop.aborted)) onStop()
    })
  }

  /** The entries after `after`, counted exactly by the server, and when the first of them occurred. */
  async lag(after: Position): Promise<FeedLag> {
    parsePosition(after)
    const { key } = this.settings
    const reply = await attempt(`lag of ${key}`, () => this.redis.tidingsLag(key, after, LAG_CHUNK))
    const [events, first] = reply as [number, StreamEntry | undefined]
    if (!first || events === 0) return { events: 0 }
    return { events, oldestUnreadAt: occurredAtOf(envelopeField(first[1]), new Date(Number(first[0].split('-')[0]))) }
  }

  async close(): Promise<void> {
    this.settings.onClose?.()
    this.closing.abort()
    await this.queue
    if (this.blocker) await closeConnection(this.blocker)
  }
}

/** The script's answer: `[[id, [field, value, …]], …]`. */
function entriesOf(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply ${JSON.stringify(reply)?.slice(0, 200)}`)
  return reply as StreamEntry[]
}
