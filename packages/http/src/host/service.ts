import type { Env, Hono } from 'hono'
import { TidingsError, type Clock, type ConsumerDefinition, type ConsumerObserver, type Dispatcher, type Logger, type Transport, type FeedReader } from '@tidings/core'
import {
  describeError,
  FeedNotifier,
  migrate,
  OutboxFeed,
  PartitionedSubscription,
  platformMigrations,
  Subscription,
  UnitOfWork,
  type Database,
  type Follower,
  type FeedSignals,
  type Migration,
  type Queryable,
  type SagaRunner,
} from '@tidings/postgres'
import type { Metrics } from './metrics'
import type { AlertNotifier } from '../alerts/alert-notifier'
import type { FastPath, Upgrade } from './serve'

/** What every service of a process shares: the database, the clock, logs, metrics and feed wake-ups. */
export interface ServiceContext {
  db: Database
  clock: Clock
  logger: Logger
  metrics: Metrics
  /** Where unexpected failures are raised: a 500, a dead letter, a consumer far behind, a saga parked. */
  alerts: AlertNotifier
  signals: FeedSignals
  /**
   * Only one process can open an embedded data directory, so a restarted embedded process is the same
   * instance and need not wait for its predecessor's lease to expire. Servers get a fresh id per process.
   */
  instanceId?: string
  /** The longest a query waits for a client's consistency tokens before it answers stale (default 2 s). */
  consistencyTimeoutMs?: number
  /**
   * A broker between the services (distributed mode): the host relays every feed it produces to it, and
   * every consumer reads its sources' partitions from it. Without one, consumers read the feeds directly.
   */
  transport?: Transport
  /**
   * What the services of one deployment present to each other's `/internal` and feed routes (`SERVICE_TOKEN`),
   * and what those routes ask for; a process that serves everything itself has one no one else knows.
   */
  serviceCredential: string
}

/** One service of an app, ready to be hosted alone or beside the others (`hostServices`). */
export interface Service<E extends Env = Env> {
  name: string
  routes: Hono<E>
  /** The feeds it produces, by source. */
  feeds: Record<string, OutboxFeed>
  subscriptions: Follower[]
  /** Schemas with an outbox (trimmed by retention) and with an inbox (forgotten after a while). */
  producerSchemas: string[]
  consumerSchemas: string[]
  /** Requests it can answer before the app (see `serveHttp`'s `fastPath`). */
  fastPath?: FastPath
  /** Protocol switches it takes (a WebSocket route; see `serveHttp`'s `upgrade`). */
  upgrade?: Upgrade
  /** Background loops the host starts and stops with the service (e.g. a scheduler of its timeouts). */
  workers?: Worker[]
  /** The sagas it orchestrates (`openSagas`), for the console. */
  sagas?: SagaRunner[]
  /** Ends what holds connections open (e.g. event streams) before the server closes. */
  close?(): void
}

export interface Worker {
  start(): void
  stop(): Promise<void>
}

/**
 * A service of any app. Hono's `Env` is invariant (handlers both read and set variables), so services
 * whose routes use different variables can only sit side by side in one host under `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyService = Service<any>

export interface Producer {
  uow: UnitOfWork
  feed: OutboxFeed
}

/**
 * A service's command side: its schema migrated, a unit of work that records into its outbox (with the
 * service's in-transaction and after-commit handlers, if any), its feed.
 */
export async function openProducer(
  ctx: ServiceContext,
  schema: string,
  source: string,
  migrations: readonly Migration[],
  options: { dispatcher?: Dispatcher<Queryable> } = {},
): Promise<Producer> {
  const { db, clock, signals } = ctx
  await migrate(db, schema, 'tidings', platformMigrations)
  await migrate(db, schema, source, migrations)
  const uow = new UnitOfWork({ db, schema, source, clock, signals, notifier: new FeedNotifier(db), ...options })
  const feed = new OutboxFeed(db, schema, source, signals)
  ctx.metrics.watchFeed(source, feed, { db, schema })
  return { uow, feed }
}

/**
 * A consumer following feeds (in process or over HTTP), with its inbox and checkpoints in `schema`. With a
 * transport in the context it reads the same sources' partitions from the broker instead, one of any
 * number of competing instances.
 */
export async function openSubscription(ctx: ServiceContext, schema: string, consumer: ConsumerDefinition<Queryable>, feeds: readonly FeedReader[]): Promise<Follower> {
  const { db, logger, metrics, alerts, instanceId, transport } = ctx
  await migrate(db, schema, 'tidings', platformMigrations)
  const observer: ConsumerObserver = {
    ...metrics.observer,
    deadLettered(name, type, error) {
      metrics.observer.deadLettered?.(name, type, error)
      alerts.raise({
        kind: 'dead_letter',
        code: error instanceof TidingsError ? error.code : 'HANDLER_FAILED',
        where: name,
        message: `gave up on ${type}: ${describeError(error).slice(0, 300)}`,
        details: { consumer: name, type, schema },
      })
    },
  }
  const common = { db, schema, consumer, observer, logger, ...(instanceId ? { instanceId } : {}) }
  const subscription: Follower = transport
    ? new PartitionedSubscription({ ...common, transport, sources: feeds.map((f) => f.source) })
    : new Subscription({ ...common, feeds })
  metrics.watchSubscription(subscription)
  metrics.watchDeadLetters(db, schema)
  return subscription
}
