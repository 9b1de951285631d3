import { AckPolicy, DeliverPolicy, type ConsumerConfig } from '@nats-io/jetstream'
import { createInbox, errors, nanos, type Msg } from '@nats-io/transport-node'
import {
  checkPositiveIntegers,
  BrokerLostMessages,
  envelopeFromBroker,
  occurredAtOf,
  formatPosition,
  InvalidPosition,
  parsePosition,
  partitionSource,
  type Envelope,
  type FeedLag,
  type FeedPage,
  type PartitionReader,
  type Position,
  type ReadOptions,
  uuidv7,
} from '@tidings/core'
import type { BrokerConnection } from './nats-connection'
import { BrokerUnavailable } from './nats-errors'
import { consumerName, partitionSubject, streamName } from './names'

const decoder = new TextDecoder()

/** Pages stay in the caller's hands until it reads after them; the broker must not redeliver them meanwhile. */
const ACK_WAIT_MS = 10 * 60_000
/** A long poll shorter than this is not worth a pull request of its own. */
const MIN_WAIT_MS = 5
/** The server deletes a consumer no read has used for this long (its reader crashed, or stopped reading). */
const INACTIVE_MS = 60 * 60_000

interface Delivered {
  seq: bigint
  /** The message's ack subject. */
  reply: string
  data: Uint8Array
}

/** The consumer is not there (deleted after a long idle time): the read re-creates it. */
class ConsumerGone extends Error {}

/**
 * One partition of a source, read by stream sequence (`0-<seq>`) through a durable pull consumer with
 * `ack_policy: all`, so that NATS shows the reader's progress: `read(after)` acknowledges the delivered
 * message at `after` — what the caller has committed — and with it everything before.
 *
 * The consumer is this reader's own (`consumerName(consumer, partition, reader)`): no other instance can
 * pull from it and take messages a page would then skip, so a reader that continues where it stopped needs
 * no check with the server before it pulls. When `after` is anything else (the first read, a rewind, a page
 * the caller did not commit, a page cut short by an abort or a failure, the consumer gone after an hour
 * unused), the consumer is deleted and created again at `after`'s sequence: nothing after `after` is
 * skipped and nothing waits out an ack timeout. It is created *at* that sequence, not after it, so that the
 * message at `after` is delivered once more and acknowledged at once, and the ack floor says `after` from
 * the start (a new consumer's floor would otherwise read 0 until the next commit). Closing the reader
 * deletes its consumer; a crashed reader's goes after an hour. A stream that ends before `after` (it lost
 * its tail, or was made again) is `BrokerLostMessages`: its next messages would reuse the positions.
 */
export class NatsPartitionReader implements PartitionReader {
  readonly source: string
  private readonly stream: string
  private readonly subject: string
  /** The reader's own durable consumer on the server. */
  readonly durable: string
  /** The sequence the consumer has delivered up to, when this reader knows it; undefined: re-position. */
  private cursor: bigint | undefined
  /** The last message handed out, acknowledged when the caller reads after it. */
  private last: Delivered | undefined
  private acked = 0n
  private queue: Promise<unknown> = Promise.resolve()
  private readonly closing = new AbortController()

  constructor(
    private readonly connection: BrokerConnection,
    private readonly producer: string,
    partition: number,
    consumer: string,
    private readonly onClose: () => void = () => {},
  ) {
    this.source = partitionSource(producer, partition)
    this.stream = streamName(producer)
    this.subject = partitionSubject(producer, partition)
    this.durable = consumerName(consumer, partition, uuidv7().slice(-12))
  }

  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    const from = sequenceOf(after)
    checkPositiveIntegers({ limit })
    const { waitMs = 0, signal } = options
    if (signal?.aborted || this.closing.signal.aborted) return { items: [], next: after }
    // One read at a time: each moves the consumer this reader keeps track of.
    const page = this.queue.then(() =>
      this.connection.run(`read ${this.subject}`, async (down) => {
        try {
          return await this.readNow(after, from, limit, waitMs, [down, this.closing.signal, ...(signal ? [signal] : [])])
        } catch (error) {
          this.cursor = undefined
          throw error
        }
      }),
    )
    this.queue = page.catch(() => {})
    return page
  }

  private async readNow(after: Position, from: bigint, limit: number, waitMs: number, stops: AbortSignal[]): Promise<FeedPage> {
    const deadline = performance.now() + waitMs
    const [down] = stops as [AbortSignal]
    let messages = this.cursor === from ? await this.continueAfter(from, limit, down) : undefined
    if (messages === undefined) {
      this.cursor = undefined
      await this.reposition(from)
      messages = (await this.pull(from > 0n ? limit + 1 : limit, undefined, [down])).messages
      if (from > 0n && messages[0]?.seq === from) await this.ack(messages.shift()!)
    }
    const left = deadline - performance.now()
    if (messages.length === 0 && left >= MIN_WAIT_MS) {
      // The server holds a pull until its batch is full, so wait for one message, then take what else is there.
      const waited = await this.pull(1, left, stops)
      if (waited.aborted) return { items: [], next: after }
      messages = waited.messages
      if (messages.length > 0 && limit > 1) messages.push(...(await this.pull(limit - 1, undefined, [down])).messages)
    }
    return this.page(after, from, limit, messages)
  }

  /** The page handed out, and where the consumer now stands; anything unexpected makes the next read re-position. */
  private page(after: Position, from: bigint, limit: number, messages: Delivered[]): FeedPage {
    const items: Envelope[] = []
    let previous = from
    let consistent = true
    for (const message of messages) {
      // A redelivery (out of order) or more than asked for: the consumer is no longer where the page ends.
      if (message.seq <= previous || items.length >= limit) {
        consistent = false
        break
      }
      const position = formatPosition({ xid: 0n, seq: message.seq })
      items.push(envelopeFromBroker({ text: decoder.decode(message.data), position, producer: this.producer, partition: this.source, receivedAt: new Date() }))
      previous = message.seq
      this.last = message
    }
    this.cursor = consistent ? previous : undefined
    return { items, next: items.at(-1)?.position ?? after }
  }

  /** The next messages of the consumer, where this reader left it; undefined when it is gone. */
  private async continueAfter(from: bigint, limit: number, down: AbortSignal): Promise<Delivered[] | undefined> {
    try {
      if (this.last?.seq === from && this.acked < from) await this.ack(this.last)
      return (await this.pull(limit, undefined, [down])).messages
    } catch (error) {
      if (error instanceof ConsumerGone || (error instanceof errors.RequestError && error.isNoResponders())) return undefined
      throw error
    }
  }

  private async reposition(from: bigint): Promise<void> {
    const { jsm } = this.connection
    // Sequences are not reused unless the stream lost its tail or was made again: then they will be.
    const end = BigInt((await jsm.streams.info(this.stream)).state.last_seq)
    if (from > end) throw new BrokerLostMessages('NATS', this.source, formatPosition({ xid: 0n, seq: end }), formatPosition({ xid: 0n, seq: from }))
    try {
      await jsm.consumers.delete(this.stream, this.durable)
    } catch (error) {
      if ((error as { code?: unknown }).code !== 10014) throw error // consumer not found: nothing to delete
    }
    const config: Partial<ConsumerConfig> = {
      durable_name: this.durable,
      description: `Tidings reader of ${this.source}`,
      filter_subject: this.subject,
      ack_policy: AckPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: -1,
      inactive_threshold: nanos(INACTIVE_MS),
      deliver_policy: from === 0n ? DeliverPolicy.All : DeliverPolicy.StartSequence,
    }
    if (from > 0n) config.opt_start_seq = Number(from)
    await jsm.consumers.add(this.stream, config)
    this.cursor = from
    this.last = undefined
    this.acked = 0n
  }

  /** Acknowledges a message (and, ack policy `all`, every one before it), waiting for the server to confirm. */
  private async ack(message: Delivered): Promise<void> {
    await this.connection.nc.request(message.reply, '+ACK', { timeout: this.connection.timeoutMs })
    this.acked = message.seq
  }

  /**
   * One pull request: `batch` messages at most, at once (`no_wait`) or waiting up to `waitMs` for the
   * first. Stopped early (abort, close), it resolves with `aborted`, and the consumer's position is no
   * longer known: the server may still deliver to the abandoned request.
   */
  private pull(batch: number, waitMs: number | undefined, stops: AbortSignal[]): Promise<{ messages: Delivered[]; aborted: boolean }> {
    const { nc, timeoutMs } = this.connection
    return new Promise((resolve, reject) => {
      const messages: Delivered[] = []
      let done = false
      const finish = (error?: Error, aborted = false): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        sub.unsubscribe()
        for (const stop of stops) stop.removeEventListener('abort', onStop)
        if (aborted) this.cursor = undefined
        if (error) reject(error)
        else resolve({ messages, aborted })
      }
      const onStop = (): void => finish(undefined, true)
      const inbox = createInbox()
      const sub = nc.subscribe(inbox, {
        callback: (error, msg) => {
          if (error) return finish(error)
          const delivered = deliveredOf(msg)
          if (delivered) {
            messages.push(delivered)
            if (messages.length >= batch) finish()
            return
          }
          const code = msg.headers?.code ?? 0
          if (code === 100) return // idle heartbeat
          if (code === 404 || code === 408) return finish() // no (more) messages, or the wait is over
          if (code === 503) return finish(new ConsumerGone()) // no responders: nobody serves the consumer
          finish(new BrokerUnavailable(`pull from ${this.durable}`, `${code} ${msg.headers?.description ?? ''}`.trim()))
        },
      })
      const limitMs = (waitMs ?? 0) + timeoutMs
      // Checked again after pending I/O: when the event loop was blocked (a busy in-process database), the
      // answer may be waiting in the socket while this timer fires first.
      const timer = setTimeout(() => setImmediate(() => finish(new BrokerUnavailable(`pull from ${this.durable}`, `no answer within ${limitMs} ms`))), limitMs)
      for (const stop of stops) stop.addEventListener('abort', onStop, { once: true })
      if (stops.some((stop) => stop.aborted)) return onStop()
      const request = waitMs === undefined ? { batch, no_wait: true } : { batch, expires: nanos(Math.ceil(waitMs)) }
      try {
        nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.durable}`, JSON.stringify(request), { reply: inbox })
      } catch (error) {
        finish(error as Error)
      }
    })
  }

  /**
   * Events of the partition after `after`, counted by the server (a short-lived consumer starting there),
   * and when the first of them occurred.
   */
  async lag(after: Position): Promise<FeedLag> {
    const start = sequenceOf(after) + 1n
    const { jsm } = this.connection
    return this.connection.run(`lag of ${this.subject}`, async () => {
      const probe = await jsm.consumers.add(this.stream, {
        filter_subject: this.subject,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Number(start),
        inactive_threshold: nanos(30_000),
        mem_storage: true,
      })
      await jsm.consumers.delete(this.stream, probe.name).catch(() => {}) // else it expires on its own
      if (probe.num_pending === 0) return { events: 0 }
      const first = await jsm.direct.getMessage(this.stream, { seq: Number(start), next_by_subj: this.subject })
      const lag: FeedLag = { events: probe.num_pending }
      if (first) lag.oldestUnreadAt = occurredAtOf(decoder.decode(first.data), first.time)
      return lag
    })
  }

  /** Stops reading and deletes the reader's consumer (within a second: a broker that is down keeps it an hour). */
  async close(): Promise<void> {
    this.onClose()
    this.closing.abort()
    await this.queue
    const deleted = this.connection.jsm.consumers.delete(this.stream, this.durable).catch(() => false)
    await Promise.race([deleted, new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
  }
}

/** A broker position is `0-<stream sequence>` (or START); anything else is not this feed's. */
function sequenceOf(position: Position): bigint {
  const point = parsePosition(position)
  if (point.xid !== 0n) throw new InvalidPosition(position)
  return point.seq
}

/** A stream message from a pull (its reply is the ack subject), or undefined for a status message. */
function deliveredOf(msg: Msg): Delivered | undefined {
  const reply = msg.reply
  if (!reply?.startsWith('$JS.ACK.')) return undefined
  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.… or, with domain and account, two tokens more.
  const tokens = reply.split('.')
  const seq = tokens[tokens.length === 9 ? 5 : 7]
  if (!seq || !/^[0-9]+$/.test(seq)) return undefined
  return { seq: BigInt(seq), reply, data: msg.data }
}
