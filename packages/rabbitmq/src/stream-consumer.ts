import type { AsyncMessage, Channel, Connection } from 'rabbitmq-client'
import { closeChannel, openChannel, within } from './rabbitmq-connection'
import { BrokerUnavailable, brokerError } from './rabbitmq-errors'

/** A message of a stream queue as a reader sees it: where it sits, and its body as text. */
export interface StreamMessage {
  /** The stream offset + 1 (the first message is 1, so that START, 0, sorts before it). */
  seq: bigint
  tag: number
  text: string | undefined
  /** When the publisher sent it (whole seconds, the AMQP timestamp), else when it arrived. */
  storedAt: Date
}

export interface StreamConsumerOptions {
  connection: Connection
  queue: string
  /** Where the consumer attaches: an offset (`x-stream-offset`), or `last` (the last chunk). */
  offset: bigint | 'last'
  /** Messages at or before this sequence are dropped: the caller has them already. */
  after: bigint
  prefetch: number
  timeoutMs: number
}

const decoder = new TextDecoder()

/**
 * One `basic.consume` on a stream queue, on a channel of its own, and the messages it delivered that were
 * not taken yet. Streams require manual acknowledgement and a prefetch, but keep every message whatever is
 * acknowledged: an ack only gives the consumer credit for more, so `take` acknowledges what it hands out.
 *
 * RabbitMQ never says that a stream has nothing more; two facts of its channel process make an empty
 * answer exact anyway. An acknowledgement makes the stream deliver what it has for the new credit before
 * the channel handles the next method, so after `barrier` (a round trip on the same channel) every
 * message the acks made room for is here. And a consumer attached at an offset that holds a message gets
 * that message (the chunks from there on, in one go) once the stream has noticed it: so a reader attaches
 * one message early, at the one it already has (`after`), and once that arrived, a barrier tells whether
 * anything follows. Only where nothing at all is there to deliver (an empty stream, a position past its
 * end) does the answer rest on waiting a while for a first delivery (`delivered` stays false).
 */
export class StreamConsumer {
  /** What the caller has: the sequence of the last message taken (or `after`). */
  cursor: bigint
  /** Anything came (also a message dropped as the caller's own). */
  delivered = false
  /** Deliveries or acks since the last barrier: more may be on its way (the rest of a batch, or for the credit). */
  unsettled = false
  failure: Error | undefined
  readonly openedAt = performance.now()
  private readonly buffer: StreamMessage[] = []
  /** The sequence of the last buffered message: anything at or before it is a repeat. */
  private last: bigint
  private readonly listeners = new Set<() => void>()

  private constructor(
    private readonly channel: Channel,
    private readonly options: StreamConsumerOptions,
  ) {
    this.cursor = options.after
    this.last = options.after
  }

  static async open(options: StreamConsumerOptions): Promise<StreamConsumer> {
    const { connection, queue, offset, prefetch, timeoutMs } = options
    const operation = `consume ${queue}`
    const channel = await within(openChannel(connection, operation), timeoutMs, operation)
    const consumer = new StreamConsumer(channel, options)
    channel.on('close', () => consumer.fail(new BrokerUnavailable(operation, 'the channel was closed (the connection was lost or the broker closed it)')))
    channel.on('basic.cancel', () => consumer.fail(new BrokerUnavailable(operation, 'the broker cancelled the consumer (was the queue deleted?)')))
    try {
      await within(channel.basicQos({ prefetchCount: prefetch }), timeoutMs, operation)
      await within(
        channel.basicConsume({ queue, noAck: false, arguments: { 'x-stream-offset': offset } }, (message) => consumer.receive(message)),
        timeoutMs,
        operation,
      )
    } catch (error) {
      await closeChannel(channel, timeoutMs)
      throw brokerError(operation, error)
    }
    return consumer
  }

  get buffered(): number {
    return this.buffer.length
  }

  /** The highest sequence delivered so far (after the caller's own). */
  get highest(): bigint {
    return this.last
  }

  /** Up to `limit` messages, in stream order, acknowledged (and the cursor after them). */
  take(limit: number): StreamMessage[] {
    const taken = this.buffer.splice(0, limit)
    const last = taken.at(-1)
    if (!last) return taken
    this.cursor = last.seq
    this.ack(last.tag)
    return taken
  }

  /** A round trip on the channel: whatever the broker sent before it (for acks made so far) is here after it. */
  async barrier(): Promise<void> {
    this.unsettled = false
    const operation = `consume ${this.options.queue}`
    try {
      // basic.qos with the same prefetch changes nothing; its answer comes after anything sent before it.
      await within(this.channel.basicQos({ prefetchCount: this.options.prefetch }), this.options.timeoutMs, operation)
    } catch (error) {
      this.fail(brokerError(operation, error))
    }
    // Deliveries reach `receive` through setImmediate: let the ones that came before the answer through.
    await new Promise((resolve) => setImmediate(resolve))
    if (this.failure) throw this.failure
  }

  /** Resolves when a message arrives, the consumer fails, `until` (performance.now) passes or a stop fires. */
  async arrival(until: number, stops: readonly AbortSignal[]): Promise<void> {
    if (this.buffer.length > 0 || this.failure || stops.some((stop) => stop.aborted)) return
    const left = until - performance.now()
    if (left <= 0) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.listeners.delete(done)
        for (const stop of stops) stop.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, left)
      this.listeners.add(done)
      for (const stop of stops) stop.addEventListener('abort', done, { once: true })
    })
  }

  async close(): Promise<void> {
    this.fail(new BrokerUnavailable(`consume ${this.options.queue}`, 'the consumer was closed'))
    await closeChannel(this.channel, this.options.timeoutMs)
  }

  private receive(message: AsyncMessage): void {
    const offset = message.headers?.['x-stream-offset'] as unknown
    if (typeof offset !== 'number' && typeof offset !== 'bigint') {
      return this.fail(new BrokerUnavailable(`consume ${this.options.queue}`, 'a delivery without x-stream-offset (is it a stream queue?)'))
    }
    const seq = BigInt(offset) + 1n
    this.delivered = true
    this.unsettled = true
    if (seq <= this.last) {
      // The caller's own message (the one attached at), or before it: credit back, nothing to hand out.
      if (this.buffer.length === 0) this.ack(message.deliveryTag)
    } else {
      this.last = seq
      const timestamp = message.timestamp
      const storedAt = typeof timestamp === 'number' && timestamp > 0 ? new Date(timestamp * 1000) : new Date()
      this.buffer.push({ seq, tag: message.deliveryTag, text: textOf(message.body), storedAt })
    }
    this.notify()
  }

  /** Acknowledges every delivery up to `tag`: they are the caller's now, and the stream may send more. */
  private ack(tag: number): void {
    try {
      this.channel.basicAck({ deliveryTag: tag, multiple: true })
      this.unsettled = true
    } catch (error) {
      this.fail(brokerError(`ack on ${this.options.queue}`, error))
    }
  }

  private fail(error: Error): void {
    this.failure ??= error
    this.notify()
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }
}

/** The body as it was published: rabbitmq-client hands bodies over as Buffers unless their content type says text or JSON. */
function textOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined
  if (Buffer.isBuffer(body)) return decoder.decode(body)
  if (typeof body === 'string') return body
  return JSON.stringify(body)
}
