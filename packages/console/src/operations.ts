import { START, type Position, type FeedLag } from '@tidings/core'
import type { AnyService } from '@tidings/http'
import {
  defaultRetention,
  describeError,
  findDeadLetter,
  listDeadLetters,
  liveReaders,
  slowest,
  countDeadLetters,
  type Database,
  type OutboxFeed,
  type RetentionPolicy,
  type Follower,
  SagaNotFound,
  type SagaHistoryLine,
  type SagaListFilter,
  type SagaRunner,
  type StoredSaga,
} from '@tidings/postgres'
import { DeadLetterNotFound, NotReplayableHere, ReplayFailed, SubscriptionNotFound, AlreadyReplayed } from './console-errors'

export interface FeedView {
  source: string
  schema: string
  /** The last event a reader can see now. */
  head: Position
  /** What the outbox still holds: retention trims it, but never past the slowest live reader. */
  retained: { events: number; oldestAt: string | null; retentionSeconds: number }
  /** Readers seen within the liveness window (those in this process with their current positions). */
  readers: number
  /** Events the slowest live reader has not read yet. */
  backlog: { events: number; oldestUnreadAt: string | null; seconds: number }
}

export interface FollowedFeedView {
  source: string
  position: Position
  lagEvents: number
  lagSeconds: number
}

export interface SubscriptionView {
  name: string
  schema: string
  mode: 'inline' | 'deferred'
  follows: FollowedFeedView[]
  /** Messages applied per second by this process's instance, over the last ten seconds. */
  perSecond: number
  /** The instance holding the lease, in whatever process; null when none does (all stopped or between leaders). */
  activeInstance: string | null
  /** This process's instance and whether it is the active one. */
  here: { instanceId: string; active: boolean }
  deadLetters: number
}

export interface DeadLetterView {
  schema: string
  id: string
  consumer: string
  messageId: string
  type: string
  source: string
  key: string
  position: string | null
  error: string
  attempts: number
  failedAt: string
  /** A subscription of that consumer runs in this process, so the console can replay it. */
  replayable: boolean
}

/** A distinct alert of this process (kind, code, where), how often and when it came. */
export interface AlertView {
  kind: string
  code: string
  where: string
  message: string
  count: number
  firstAt: string
  lastAt: string
}

export interface Overview {
  at: string
  feeds: FeedView[]
  subscriptions: SubscriptionView[]
  deadLetters: DeadLetterView[]
  /** The latest distinct alerts of this process, newest first. */
  alerts: AlertView[]
  sagas: SagasView
}

/** The sagas of this process's orchestrators: how many are open per type and status, and the parked ones. */
export interface SagasView {
  open: Array<{ type: string; status: string; count: number }>
  /** The latest parked (`FAILED`) sagas, newest first: each waits for an operator's retry. */
  failed: SagaView[]
}

export interface SagaView {
  id: string
  type: string
  status: string
  step: number
  attempt: number
  reason: string | null
  startedAt: string
  updatedAt: string
  endedAt: string | null
}

/** Where the console reads the recent alerts (the host's `AlertNotifier`). */
export interface RecentAlerts {
  recent(): ReadonlyArray<{ kind: string; code: string; where: string; message: string; count: number; firstAt: Date; lastAt: Date }>
}

export interface OperationsOptions {
  db: Database
  feeds: readonly OutboxFeed[]
  subscriptions: readonly Follower[]
  /** Schemas holding inboxes and dead letters (a subscription's own schema is added). */
  consumerSchemas: readonly string[]
  retention?: RetentionPolicy
  alerts?: RecentAlerts
  /** The saga runners of the host's orchestrators. */
  sagas?: readonly SagaRunner[]
  now?: () => number
}

/**
 * What an operator sees of one process: the feeds it produces, the subscriptions it runs, the dead
 * letters in its consumers' schemas — and the two actions on them, replay and reset.
 */
export class Operations {
  private readonly retention: RetentionPolicy
  private readonly now: () => number

  constructor(private readonly options: OperationsOptions) {
    this.retention = options.retention ?? defaultRetention
    this.now = options.now ?? Date.now
  }

  /** Everything the services of a host expose. */
  static of(db: Database, services: readonly AnyService[], extra: Pick<OperationsOptions, 'retention' | 'alerts'> = {}): Operations {
    return new Operations({
      db,
      feeds: services.flatMap((s) => Object.values(s.feeds)),
      subscriptions: services.flatMap((s) => s.subscriptions),
      consumerSchemas: services.flatMap((s) => s.consumerSchemas),
      sagas: services.flatMap((s) => s.sagas ?? []),
      ...extra,
    })
  }

  get sources(): string[] {
    return this.options.feeds.map((f) => f.source)
  }

  feed(source: string): OutboxFeed | undefined {
    return this.options.feeds.find((f) => f.source === source)
  }

  async overview(): Promise<Overview> {
    const [feeds, subscriptions, deadLetters, sagas] = await Promise.all([this.feeds(), this.subscriptions(), this.deadLetters(), this.sagaOverview()])
    return { at: new Date(this.now()).toISOString(), feeds, subscriptions, deadLetters, alerts: this.alerts(), sagas }
  }

  async sagaOverview(): Promise<SagasView> {
    const runners = this.options.sagas ?? []
    const [open, failed] = await Promise.all([Promise.all(runners.map((r) => r.open())), this.sagaList({ status: 'FAILED', limit: 20 })])
    return { open: open.flat(), failed }
  }

  /** Sagas of every runner by type and status, latest changed first, in pages (`before` the last one's `updatedAt`). */
  async sagaList(filter: SagaListFilter & { limit?: number }): Promise<SagaView[]> {
    const limit = filter.limit ?? 50
    const runners = (this.options.sagas ?? []).filter((r) => filter.type === undefined || r.types.includes(filter.type))
    const lists = await Promise.all(runners.map((r) => r.list({ ...filter, limit })))
    return lists
      .flat()
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, limit)
      .map(sagaView)
  }

  /** One saga and its step history. */
  async saga(id: string): Promise<{ saga: SagaView; history: SagaHistoryLine[] }> {
    for (const runner of this.options.sagas ?? []) {
      const saga = await runner.find(id)
      if (saga) return { saga: sagaView(saga), history: await runner.history(id) }
    }
    throw new SagaNotFound(id)
  }

  /** Tries a parked saga's compensation again. */
  async retrySaga(id: string): Promise<SagaView> {
    for (const runner of this.options.sagas ?? []) {
      if (await runner.find(id)) {
        await runner.retry(id)
        return sagaView((await runner.find(id))!)
      }
    }
    throw new SagaNotFound(id)
  }

  alerts(): AlertView[] {
    return (this.options.alerts?.recent() ?? []).map(({ kind, code, where, message, count, firstAt, lastAt }) => ({
      kind,
      code,
      where,
      message,
      count,
      firstAt: firstAt.toISOString(),
      lastAt: lastAt.toISOString(),
    }))
  }

  async feeds(): Promise<FeedView[]> {
    return Promise.all(
      this.options.feeds.map(async (feed) => {
        const readers = await this.readersOf(feed)
        const [head, retained, backlog] = await Promise.all([feed.head(), feed.lag(START), feed.lag(slowest(readers.values()) ?? START)])
        return {
          source: feed.source,
          schema: feed.schema,
          head,
          readers: readers.size,
          retained: { events: retained.events, oldestAt: retained.oldestUnreadAt?.toISOString() ?? null, retentionSeconds: this.retention.retainMs / 1000 },
          backlog: { events: backlog.events, oldestUnreadAt: backlog.oldestUnreadAt?.toISOString() ?? null, seconds: this.ageSeconds(backlog) },
        }
      }),
    )
  }

  async subscriptions(): Promise<SubscriptionView[]> {
    const counts = new Map<string, Map<string, number>>()
    await Promise.all(this.consumerSchemas().map(async (schema) => counts.set(schema, await countDeadLetters(this.options.db, schema))))
    return Promise.all(
      this.options.subscriptions.map(async (subscription) => {
        const [progress, holder] = await Promise.all([subscription.progress(), subscription.leaseHolder()])
        const status = subscription.status()
        // One processed position per feed, and the lag measured from that same position.
        const follows = progress.map(({ source, position, lag }) => ({ source, position, lagEvents: lag.events, lagSeconds: this.ageSeconds(lag) }))
        return {
          name: subscription.name,
          schema: subscription.schema,
          mode: subscription.mode,
          follows,
          perSecond: status.perSecond,
          activeInstance: holder ?? null,
          here: { instanceId: status.instanceId, active: status.active },
          deadLetters: counts.get(subscription.schema)?.get(subscription.name) ?? 0,
        }
      }),
    )
  }

  /** Open dead letters of every consumer schema, oldest first, at most `limit` per schema. */
  async deadLetters(limit = 100): Promise<DeadLetterView[]> {
    const perSchema = await Promise.all(
      this.consumerSchemas().map(async (schema) =>
        (await listDeadLetters(this.options.db, schema, undefined, limit)).map(
          (letter): DeadLetterView => ({
            schema,
            id: letter.id,
            consumer: letter.consumer,
            messageId: letter.messageId,
            type: letter.envelope.type,
            source: letter.envelope.source,
            key: letter.envelope.key,
            position: letter.envelope.position ?? null,
            error: letter.error,
            attempts: letter.attempts,
            failedAt: letter.failedAt.toISOString(),
            replayable: this.subscriptionFor(schema, letter.consumer) !== undefined,
          }),
        ),
      ),
    )
    return perSchema.flat()
  }

  /**
   * Applies a dead letter again, after the fix. Exactly once however often it is asked (the subscription's
   * replay); a handler that still fails leaves the letter where it was and says why.
   */
  async replay(schema: string, id: string): Promise<void> {
    const letter = this.consumerSchemas().includes(schema) ? await findDeadLetter(this.options.db, schema, id) : undefined
    if (!letter) throw new DeadLetterNotFound(schema, id)
    if (letter.replayedAt) throw new AlreadyReplayed(id)
    const subscription = this.subscriptionFor(schema, letter.consumer)
    if (!subscription) throw new NotReplayableHere(letter.consumer)
    let replayed: boolean
    try {
      replayed = await subscription.replay(id)
    } catch (error) {
      throw new ReplayFailed(id, describeError(error))
    }
    if (!replayed) throw new AlreadyReplayed(id)
  }

  /** Rebuilds a subscription's read model from the start of its feeds. */
  async reset(name: string): Promise<void> {
    const subscription = this.options.subscriptions.find((s) => s.name === name)
    if (!subscription) throw new SubscriptionNotFound(name)
    await subscription.reset()
  }

  /**
   * Readers report their positions every few seconds; the subscriptions running here are known exactly,
   * so the backlog does not show events they have already applied.
   */
  private async readersOf(feed: OutboxFeed): Promise<Map<string, Position>> {
    const readers = await liveReaders(this.options.db, feed.schema, this.retention.readerLivenessMs)
    for (const subscription of this.options.subscriptions) {
      if (subscription.sources.includes(feed.source)) readers.set(subscription.name, await subscription.processedPosition(feed.source))
    }
    return readers
  }

  private subscriptionFor(schema: string, consumer: string): Follower | undefined {
    return this.options.subscriptions.find((s) => s.schema === schema && s.name === consumer)
  }

  private consumerSchemas(): string[] {
    return [...new Set([...this.options.consumerSchemas, ...this.options.subscriptions.map((s) => s.schema)])]
  }

  private ageSeconds(lag: FeedLag): number {
    return lag.oldestUnreadAt ? Math.max(0, (this.now() - lag.oldestUnreadAt.getTime()) / 1000) : 0
  }
}

function sagaView(saga: StoredSaga): SagaView {
  return {
    id: saga.id,
    type: saga.type,
    status: saga.status,
    step: saga.step,
    attempt: saga.attempt,
    reason: saga.reason ?? null,
    startedAt: saga.startedAt.toISOString(),
    updatedAt: saga.updatedAt.toISOString(),
    endedAt: saga.endedAt?.toISOString() ?? null,
  }
}
