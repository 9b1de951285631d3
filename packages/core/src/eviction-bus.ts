import { TidingsError, ValidationFailed } from './errors'
import { silentLogger, type Logger } from './handlers'

/** Where a publisher stood on one feed (or partition) when it evicted: the receivers' watermark. */
export interface EvictionProgress {
  source: string
  position: string
}

/**
 * "These documents of `topic` changed; forget what you cached of them." `progress` says which feed
 * positions the publisher had applied when it evicted; a bus carries it unchanged and never interprets it.
 */
export interface Eviction {
  topic: string
  ids: readonly string[]
  /** Every document of the topic, not only `ids` (a rebuild cleared the read model). */
  all?: boolean
  progress?: readonly EvictionProgress[]
}

export type EvictionListener = (eviction: Eviction) => void

/**
 * Cache evictions for every instance of a read side: an instance that changed documents publishes which,
 * and every instance that caches them (itself included) drops them.
 *
 * Delivery is at most once: a bus that can lose evictions (a subscriber cut off from Redis pub/sub) calls
 * `onReset` once it may have missed some and before it delivers anything received afterwards; a cache must
 * then drop everything. Evictions of one publisher reach every subscriber in the order they were published.
 */
export interface EvictionBus {
  /** Resolves once the bus has taken the eviction (Redis: accepted the PUBLISH; in process: every listener ran). */
  publish(eviction: Eviction): Promise<void>
  /** Listens to one topic's evictions until the returned function is called. Listeners run synchronously, in order. */
  subscribe(topic: string, listener: EvictionListener, onReset: () => void): () => void
  close(): Promise<void>
}

export class EvictionBusClosed extends TidingsError {
  constructor() {
    super('EVICTION_BUS_CLOSED', 'unavailable', 'The eviction bus is closed')
  }
}

/** What is wrong with a value meant as an eviction; empty when it is one. */
export function evictionProblems(value: unknown): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = []
  if (typeof value !== 'object' || value === null) return [{ path: '', message: 'must be an object' }]
  const { topic, ids, progress, all } = value as Record<string, unknown>
  if (typeof topic !== 'string' || topic.length === 0) problems.push({ path: 'topic', message: 'must be a non-empty string' })
  if (all !== undefined && typeof all !== 'boolean') problems.push({ path: 'all', message: 'must be a boolean' })
  if (!Array.isArray(ids)) problems.push({ path: 'ids', message: 'must be an array' })
  else ids.forEach((id, i) => typeof id !== 'string' && problems.push({ path: `ids.${i}`, message: 'must be a string' }))
  if (progress !== undefined) {
    if (!Array.isArray(progress)) problems.push({ path: 'progress', message: 'must be an array' })
    else
      progress.forEach((entry: unknown, i) => {
        const { source, position } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>
        if (typeof source !== 'string' || source.length === 0) problems.push({ path: `progress.${i}.source`, message: 'must be a non-empty string' })
        if (typeof position !== 'string') problems.push({ path: `progress.${i}.position`, message: 'must be a string' })
      })
  }
  return problems
}

/**
 * The eviction as a frozen copy holding exactly its fields, or a `ValidationFailed`. Listeners share one
 * copy, so none can change what the next one sees, and none holds on to the publisher's arrays.
 */
export function toEviction(value: unknown): Eviction {
  const problems = evictionProblems(value)
  if (problems.length > 0) throw new ValidationFailed(problems, 'Not an eviction')
  const { topic, ids, progress, all } = value as Eviction
  const copy: Eviction = { topic, ids: Object.freeze([...ids]) }
  if (all) copy.all = true
  if (progress !== undefined) copy.progress = Object.freeze(progress.map(({ source, position }) => Object.freeze({ source, position })))
  return Object.freeze(copy)
}

interface Subscriber {
  listener: EvictionListener
  onReset: () => void
}

/**
 * The listeners of one bus by topic, for every bus implementation: delivery in subscription order, and a
 * listener that throws is logged without keeping the eviction from the others (or failing the publisher).
 */
export class EvictionSubscribers {
  private readonly byTopic = new Map<string, Set<Subscriber>>()

  constructor(private readonly logger: Logger = silentLogger) {}

  add(topic: string, listener: EvictionListener, onReset: () => void): () => void {
    if (typeof topic !== 'string' || topic.length === 0) throw new RangeError('an eviction topic must be a non-empty string')
    const subscriber: Subscriber = { listener, onReset }
    let topicSubscribers = this.byTopic.get(topic)
    if (!topicSubscribers) this.byTopic.set(topic, (topicSubscribers = new Set()))
    topicSubscribers.add(subscriber)
    return () => {
      topicSubscribers.delete(subscriber)
      if (topicSubscribers.size === 0 && this.byTopic.get(topic) === topicSubscribers) this.byTopic.delete(topic)
    }
  }

  deliver(eviction: Eviction): void {
    // A copy of the set: a listener that unsubscribes (or subscribes) meanwhile does not change this delivery.
    for (const { listener } of [...(this.byTopic.get(eviction.topic) ?? [])]) {
      this.guarded(() => listener(eviction), { topic: eviction.topic }, 'eviction listener failed')
    }
  }

  /** Every subscriber of every topic may have missed evictions. */
  reset(): void {
    for (const [topic, subscribers] of [...this.byTopic]) {
      for (const { onReset } of [...subscribers]) this.guarded(onReset, { topic }, 'eviction reset listener failed')
    }
  }

  clear(): void {
    this.byTopic.clear()
  }

  private guarded(run: () => void, context: object, message: string): void {
    try {
      run()
    } catch (err) {
      this.logger.error({ ...context, err }, message)
    }
  }
}

/**
 * The bus of one process: `publish` hands the eviction to this process' listeners and resolves after they
 * ran. Nothing can be missed, so `onReset` is never called. Enough when every instance of a read side runs
 * in one process (the embedded default).
 */
export function inProcessEvictionBus(options: { logger?: Logger } = {}): EvictionBus {
  const subscribers = new EvictionSubscribers(options.logger)
  let closed = false
  return {
    async publish(eviction) {
      if (closed) throw new EvictionBusClosed()
      subscribers.deliver(toEviction(eviction))
    },
    subscribe(topic, listener, onReset) {
      if (closed) return () => {}
      return subscribers.add(topic, listener, onReset)
    },
    async close() {
      closed = true
      subscribers.clear()
    },
  }
}
