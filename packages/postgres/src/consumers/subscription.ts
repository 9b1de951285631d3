import {
  comparePositions,
  defaultRetryPolicy,
  NOT_FOLLOWED,
  type AppliedPosition,
  positionBefore,
  START,
  silentLogger,
  Throughput,
  uuidv7,
  type ConsumerDefinition,
  type ConsumerObserver,
  type FeedLag,
  type FeedReader,
  type Logger,
  type Position,
  type RetryPolicy,
} from '@tidings/core'
import { readCheckpoint, readSourceCheckpoint } from './checkpoints'
import type { Database, Queryable } from '../database/database'
import { DeferredWorker } from './deferred-worker'
import { hasPending, markProcessed, oldestPending } from './inbox'
import { takeDeadLetter } from './dead-letters'
import type { Follower, FollowerStatus, SourceProgress } from './follower'
import { afterReset, forgetForRebuild, mustReplayCompletely } from './rebuild'
import { currentLeaseOwner, Lease } from '../leadership/lease'
import { runAsLeader } from '../leadership/leadership'
import { MessageProcessor } from './message-processor'
import { sleep } from '../sleep'

export interface SubscriptionOptions {
  /** The consumer's own database and schema: inbox, checkpoints, lease and its read model live there. */
  db: Database
  schema: string
  consumer: ConsumerDefinition<Queryable>
  /** One reader per feed the consumer follows. */
  feeds: readonly FeedReader[]
  instanceId?: string
  /** Default `subscription:<consumer>`; one per partition when several instances share a consumer's partitions. */
  leaseName?: string
  /** Asked before each attempt to take the lease: false leaves it to other instances for now. */
  mayLead?: () => boolean
  leaseTtlMs?: number
  /** How long an idle reader waits for a wake-up before it polls again. */
  pollIntervalMs?: number
  batchSize?: number
  /** How long a page's transaction may take chunks before it commits what it has; default 50 ms, never over a third of the lease. */
  pageBudgetMs?: number
  retry?: Partial<RetryPolicy>
  /**
   * How far the consumer has applied each feed, in producer positions, for the positions messages name in
   * `meta.after`; default this subscription's own progress on its feeds (a partition's is its source's).
   */
  applied?: AppliedPosition<Queryable>
  observer?: ConsumerObserver
  logger?: Logger
}

export type SubscriptionStatus = FollowerStatus

/**
 * By default a page's transaction takes no further chunk after this long (or a third of the lease, if
 * shorter) and commits, and the rest of the page goes in the next: a consumer's transaction that has
 * written holds back the read horizon of every feed on the server until it commits.
 */
const MAX_PAGE_MS = 50

/**
 * How long the worker waits, at most, before it looks again whether held messages may go: it looks at once
 * when this subscription applies a page (what they wait for may be in it); other instances' progress
 * (another partition's leader) it sees only this way.
 */
const HELD_POLL_MS = 250

/**
 * Follows feeds for one consumer. Every instance competes for the consumer's lease; the holder reads each
 * feed in its own loop and applies pages through the message processor, the others stand by and take over
 * when the lease expires.
 */
export class Subscription implements Follower {
  readonly name: string
  readonly instanceId: string
  private readonly lease: Lease
  private readonly processor: MessageProcessor
  private readonly worker: DeferredWorker
  private readonly positions = new Map<string, Position>()
  private readonly throughput = new Throughput(10)
  private readonly progressListeners = new Set<() => void>()
  private stopping = new AbortController()
  private running?: Promise<void>
  private active = false
  private activationCount = 0
  private stops = 0
  private readonly ttlMs: number
  private readonly pollMs: number
  private readonly batchSize: number
  private readonly logger: Logger

  constructor(private readonly options: SubscriptionOptions) {
    this.name = options.consumer.name
    this.instanceId = options.instanceId ?? uuidv7()
    this.ttlMs = options.leaseTtlMs ?? 5_000
    this.pollMs = options.pollIntervalMs ?? 1_000
    this.batchSize = options.batchSize ?? 500
    this.logger = options.logger ?? silentLogger
    this.lease = new Lease(options.db, options.schema, options.leaseName ?? `subscription:${this.name}`, this.instanceId, this.ttlMs)
    const processorOptions = {
      db: options.db,
      schema: options.schema,
      consumer: options.consumer,
      lease: this.lease,
      retry: { ...defaultRetryPolicy, ...options.consumer.retry, ...options.retry },
      observer: options.observer ?? {},
      logger: this.logger,
      pageBudgetMs: Math.min(this.ttlMs / 3, options.pageBudgetMs ?? MAX_PAGE_MS),
      applied: options.applied ?? ((source: string, via?: Queryable) => (this.sources.includes(source) ? this.processedPosition(source, via) : Promise.resolve(NOT_FOLLOWED))),
    }
    this.processor = new MessageProcessor(processorOptions)
    this.worker = new DeferredWorker(processorOptions, this.processor, this.sources)
  }

  get sources(): string[] {
    return this.options.feeds.map((f) => f.source)
  }

  /** Where its inbox, checkpoints, lease and dead letters live. */
  get schema(): string {
    return this.options.schema
  }

  get mode(): 'inline' | 'deferred' {
    return this.options.consumer.mode ?? 'inline'
  }

  /** The instance that holds the lease now, in any process; undefined when none does. */
  leaseHolder(): Promise<string | undefined> {
    return currentLeaseOwner(this.options.db, this.options.schema, this.lease.name)
  }

  start(): void {
    if (this.running) return
    this.stopping = new AbortController()
    this.running = this.run()
  }

  /** Finishes the page in flight, stops reading and hands the lease back. */
  async stop(): Promise<void> {
    this.stops++
    this.stopping.abort()
    await this.running
    this.running = undefined
  }

  isActive(): boolean {
    return this.active
  }

  activations(): number {
    return this.activationCount
  }

  status(): SubscriptionStatus {
    return {
      name: this.name,
      instanceId: this.instanceId,
      active: this.active,
      positions: Object.fromEntries(this.positions),
      perSecond: this.throughput.perSecond(Date.now()),
    }
  }

  /**
   * How far this subscription has applied a feed: from memory when active, else from its checkpoint. The
   * checkpoint counts what was stored, so the applied position stops before the oldest message still
   * pending in the inbox (a deferred consumer's, or one held for what it depends on), or still being
   * settled (committed, but its `afterCommit` hook not run yet).
   */
  async processedPosition(source: string, via: Queryable = this.options.db): Promise<Position> {
    const checkpoint = this.active ? (this.positions.get(source) ?? START) : await readCheckpoint(via, this.options.schema, this.name, source)
    const waiting = await this.oldestWaiting(source, via)
    return waiting && comparePositions(waiting.position, checkpoint) <= 0 ? positionBefore(waiting.position) : checkpoint
  }

  /**
   * How far in the producer's outbox this subscription has applied a feed: for a partition read from a
   * broker, where its positions are the broker's, the furthest `meta.sourcePosition` (watermarks
   * included), stopping before a message still waiting; undefined before anything was applied.
   */
  async processedSourcePosition(source: string, via: Queryable = this.options.db): Promise<Position | undefined> {
    const reached = this.active ? this.processor.sourcePosition(source) : await readSourceCheckpoint(via, this.options.schema, this.name, source)
    const waiting = await this.oldestWaiting(source, via)
    if (!waiting || reached === undefined || comparePositions(waiting.sourcePosition, reached) > 0) return reached
    return positionBefore(waiting.sourcePosition)
  }

  /** The oldest message of a lane that is in the inbox but not applied yet (none is looked for while nothing can be). */
  private async oldestWaiting(lane: string, via: Queryable): Promise<{ position: Position; sourcePosition: Position } | undefined> {
    const settling = this.worker.settlingIn(lane)
    const mayWait = this.mode === 'deferred' || !this.active || this.processor.causal.holding || settling !== undefined
    const pending = mayWait ? await oldestPending(via, this.options.schema, this.name, lane) : undefined
    if (settling?.position === undefined) return pending
    const settled = { position: settling.position, sourcePosition: settling.meta.sourcePosition ?? settling.position }
    return pending === undefined || comparePositions(settled.position, pending.position) < 0 ? settled : pending
  }

  async hasProcessed(source: string, position: Position): Promise<boolean> {
    return comparePositions(await this.processedPosition(source), position) >= 0
  }

  /** Called after every committed page; used by consistency waits. */
  onProgress(listener: () => void): () => void {
    this.progressListeners.add(listener)
    return () => this.progressListeners.delete(listener)
  }

  async lag(): Promise<Record<string, FeedLag>> {
    return Object.fromEntries((await this.progress()).map(({ source, lag }) => [source, lag]))
  }

  /** For each followed feed, how far this subscription has applied it and what is left. */
  progress(): Promise<SourceProgress[]> {
    return Promise.all(
      this.options.feeds.map(async (feed) => {
        const position = await this.processedPosition(feed.source)
        return { source: feed.source, position, lag: await feed.lag(position) }
      }),
    )
  }

  /**
   * Applies a dead letter once more, after the fix: handler, inbox and the dead letter's state change in
   * one transaction, so a replay applies it exactly once however often it is asked for.
   */
  async replay(deadLetterId: string): Promise<boolean> {
    const { db, schema } = this.options
    const replayed = await db.transaction(async (tx) => {
      const letter = await takeDeadLetter(tx, schema, this.name, deadLetterId)
      if (!letter) return undefined
      // Only a message that is still dead here may run: after a rebuild it may have been applied since.
      if (!(await markProcessed(tx, schema, this.name, letter.messageId))) return undefined
      await this.processor.handle(tx, letter.envelope)
      return letter.envelope
    })
    if (replayed) this.processor.afterCommit([replayed])
    return replayed !== undefined
  }

  /**
   * Rebuild: forget the inbox and checkpoints, clear the read model (and its caches, at once), and replay
   * every feed from the start — refused before anything changes when retention has trimmed a feed.
   */
  async reset(): Promise<void> {
    const { db, schema, consumer, feeds } = this.options
    await mustReplayCompletely(consumer.name, feeds)
    const wasRunning = this.running !== undefined
    await this.stop()
    const stops = this.stops
    await db.transaction(async (tx) => {
      await this.fence(tx)
      await forgetForRebuild(tx, schema, consumer)
    })
    this.positions.clear()
    afterReset(consumer)
    if (wasRunning && this.stops === stops) this.start()
    else await this.unfence()
  }

  /**
   * Takes the lease in `tx` from whoever holds it, for a rebuild: the holder's page transactions wait for
   * `tx` and then fail LeaseLost; the next leader reads the checkpoints `tx` leaves.
   */
  fence(tx: Queryable): Promise<void> {
    return this.lease.seize(tx)
  }

  /** Hands a lease that was fenced for a rebuild back, so that others need not wait it out. */
  async unfence(): Promise<void> {
    await this.lease.release().catch(() => {})
  }

  private run(): Promise<void> {
    const stop = this.stopping.signal
    return runAsLeader({
      lease: this.lease,
      stop,
      logger: this.logger,
      what: { subscription: this.name },
      lead: (leadership) => this.lead(leadership, stop),
      ...(this.options.mayLead ? { mayLead: this.options.mayLead } : {}),
    })
  }

  /** Holds the lease: one loop per feed (plus the deferred worker) until any of them ends or the lease is lost. */
  private async lead(leadership: AbortSignal, stop: AbortSignal): Promise<void> {
    const abandon = new AbortController()
    const signal = AbortSignal.any([leadership, abandon.signal])
    try {
      const { db, schema } = this.options
      for (const feed of this.options.feeds) {
        this.positions.set(feed.source, await readCheckpoint(db, schema, this.name, feed.source))
        this.processor.resumeSource(feed.source, await readSourceCheckpoint(db, schema, this.name, feed.source))
      }
      // Messages an earlier leader held are released by this one.
      this.processor.causal.holding = await hasPending(db, schema, this.name, this.sources)
      this.active = true
      this.activationCount++
      const loops = this.options.feeds.map((feed) => this.follow(feed, signal))
      loops.push(this.drainDeferred(signal))
      const results = await Promise.allSettled(
        loops.map((loop) =>
          loop.catch((error: unknown) => {
            abandon.abort()
            throw error
          }),
        ),
      )
      const failed = results.find((r) => r.status === 'rejected')
      if (failed && !stop.aborted) throw failed.reason
    } finally {
      this.active = false
    }
  }

  private async follow(feed: FeedReader, leadership: AbortSignal): Promise<void> {
    while (!leadership.aborted) {
      const after = this.positions.get(feed.source) ?? '0'
      const page = await feed.read(after, this.batchSize, { reader: this.name, waitMs: this.pollMs, signal: leadership })
      if (page.items.length === 0 || leadership.aborted) continue
      // A page over its time budget commits in parts: each part's progress is reported as it commits (a
      // deferred consumer's messages count when its worker has handled them).
      await this.processor.processPage(feed.source, page.items, leadership, (reached, applied) => {
        this.positions.set(feed.source, reached)
        if (this.mode === 'inline') this.throughput.record(applied, Date.now())
        this.progressed()
      })
    }
  }

  /** Settles what waits in the inbox: a deferred consumer's messages, and those held for what they depend on. */
  private async drainDeferred(leadership: AbortSignal): Promise<void> {
    while (!leadership.aborted) {
      if (this.mode === 'inline' && !this.processor.causal.holding) {
        await sleep(Math.min(this.pollMs, 200), leadership)
        continue
      }
      const settled = await this.worker.drain(leadership)
      if (settled > 0) {
        this.throughput.record(settled, Date.now())
        this.progressed()
      }
      else if (this.mode === 'inline') await this.progressOrTimeout(HELD_POLL_MS, leadership)
      else await sleep(Math.min(this.pollMs, 200), leadership)
    }
  }

  /** Waits for the next page this subscription applies (what held messages may wait for), at most `ms`. */
  private async progressOrTimeout(ms: number, signal: AbortSignal): Promise<void> {
    let off = (): void => {}
    const progressed = new Promise<void>((resolve) => (off = this.onProgress(resolve)))
    try {
      await Promise.race([progressed, sleep(ms, signal)])
    } finally {
      off()
    }
  }

  private progressed(): void {
    for (const listener of this.progressListeners) listener()
  }
}
