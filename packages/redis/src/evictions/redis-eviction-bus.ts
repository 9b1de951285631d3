import { EvictionBusClosed, EvictionSubscribers, evictionProblems, silentLogger, toEviction, type Eviction, type EvictionBus, type EvictionListener, type Logger } from '@tidings/core'
import { Redis } from 'ioredis'
import { closeConnection, commandConnection, type RedisLink } from '../redis-connection'
import { attempt } from '../redis-errors'

export interface RedisEvictionBusOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string
  /** Evictions of a topic go to the channel `<channelPrefix>:<topic>`; default `tidings:evictions`. */
  channelPrefix?: string
  /** Malformed messages are logged here as warnings, failing listeners as errors. */
  logger?: Logger
}

/** Connects both connections (failing with kind `unavailable` when Redis does not answer) and subscribes. */
export async function redisEvictionBus(options: RedisEvictionBusOptions): Promise<RedisEvictionBus> {
  const channelPrefix = options.channelPrefix ?? 'tidings:evictions'
  if (channelPrefix.length === 0) throw new RangeError('channelPrefix must not be empty')
  const bus = new RedisEvictionBus(options.url, channelPrefix, options.logger ?? silentLogger)
  try {
    await bus.start()
  } catch (error) {
    await bus.close()
    throw error
  }
  return bus
}

/** A pattern that matches exactly `<prefix>:` and anything after it (glob characters in the prefix escaped). */
const patternOf = (prefix: string): string => `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`

/**
 * The eviction bus over Redis pub/sub. `publish` sends PUBLISH on `<channelPrefix>:<topic>` over the bus'
 * command connection and resolves once Redis has accepted it (handed it to every subscribed connection);
 * one connection's messages reach every subscriber in the order they were sent.
 *
 * Each bus has one subscriber connection, subscribed (PSUBSCRIBE `<channelPrefix>:*`) before
 * `redisEvictionBus` returns, so a listener added later hears everything published after it was added,
 * the bus' own evictions included (they come back through Redis like everyone else's). Topics are told
 * apart in process: every bus receives every topic of its prefix; use prefixes to keep unrelated traffic
 * apart.
 *
 * Pub/sub keeps nothing for a disconnected subscriber. When the subscriber connection drops, the bus
 * resubscribes after the reconnect and, once Redis has confirmed it (so nothing published from then on can
 * be missed), calls every `onReset` before it delivers any message received afterwards.
 */
export class RedisEvictionBus implements EvictionBus {
  private readonly subscribers: EvictionSubscribers
  private readonly publisher: RedisLink
  private readonly subscriber: Redis
  private readonly pattern: string
  private closed = false
  /** The subscription was lost and is not yet confirmed again: messages wait in `held`. */
  private resetting = false
  private held: Array<[channel: string, message: string]> = []
  /** Bumped on every resubscription; only the latest one's confirmation ends the reset. */
  private resubscriptions = 0

  constructor(
    url: string,
    private readonly channelPrefix: string,
    private readonly logger: Logger,
  ) {
    this.subscribers = new EvictionSubscribers(logger)
    this.pattern = patternOf(channelPrefix)
    this.publisher = commandConnection(url, 'tidings:evictions:publish')
    this.subscriber = new Redis(url, {
      connectionName: 'tidings:evictions:subscribe',
      lazyConnect: true,
      // Resubscribing is this class' job: it must call onReset between the new subscription and new messages.
      autoResubscribe: false,
      retryStrategy: (times) => Math.min(50 * times, 500),
      maxRetriesPerRequest: 3,
      connectTimeout: 2_000,
    })
    this.subscriber.on('error', () => {}) // every loss shows as 'close', and is handled there
    this.subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => this.received(channel, message))
    this.subscriber.on('close', () => {
      if (!this.closed) this.resetting = true
    })
    this.subscriber.on('ready', () => {
      if (this.resetting && !this.closed) this.resubscribe()
    })
  }

  /** @internal Connects and subscribes; `redisEvictionBus` calls it. */
  async start(): Promise<void> {
    await attempt('connect', () => this.publisher.ping())
    await attempt('subscribe to evictions', async () => {
      await this.subscriber.connect()
      await this.subscriber.psubscribe(this.pattern)
    })
  }

  async publish(eviction: Eviction): Promise<void> {
    const message = toEviction(eviction)
    if (this.closed) throw new EvictionBusClosed()
    await attempt(`publish eviction to ${this.channelPrefix}`, () => this.publisher.publish(`${this.channelPrefix}:${message.topic}`, JSON.stringify(message)))
  }

  subscribe(topic: string, listener: EvictionListener, onReset: () => void): () => void {
    if (this.closed) return () => {}
    return this.subscribers.add(topic, listener, onReset)
  }

  async close(): Promise<void> {
    this.closed = true
    this.subscribers.clear()
    this.held = []
    await Promise.all([closeConnection(this.subscriber), closeConnection(this.publisher)])
  }

  private resubscribe(): void {
    const attemptNumber = ++this.resubscriptions
    this.subscriber.psubscribe(this.pattern).then(
      () => {
        if (attemptNumber !== this.resubscriptions || this.closed) return
        this.resetting = false
        this.subscribers.reset()
        const held = this.held
        this.held = []
        for (const [channel, message] of held) this.received(channel, message)
      },
      (err: unknown) => {
        if (attemptNumber !== this.resubscriptions || this.closed) return
        // Lost again (the next 'ready' resubscribes), or refused: start over on a new connection.
        this.logger.warn({ err, channelPrefix: this.channelPrefix }, 'eviction bus could not resubscribe; reconnecting')
        if (this.subscriber.status === 'ready') this.subscriber.disconnect(true)
      },
    )
  }

  private received(channel: string, message: string): void {
    if (this.closed) return
    if (this.resetting) {
      this.held.push([channel, message])
      return
    }
    const topic = channel.slice(this.channelPrefix.length + 1)
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      this.logger.warn({ channel, message: message.slice(0, 200) }, 'ignored an eviction that is not JSON')
      return
    }
    const problems = evictionProblems(parsed)
    if (problems.length > 0) {
      this.logger.warn({ channel, problems, message: message.slice(0, 200) }, 'ignored a malformed eviction')
      return
    }
    const eviction = toEviction(parsed)
    // A longer prefix's channel (`<prefix>:<more>:<topic>`) matches the pattern too: not this bus' eviction.
    if (eviction.topic !== topic) return
    this.subscribers.deliver(eviction)
  }
}
