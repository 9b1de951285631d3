import type { FeedReader, SagaDefinition } from '@tidings/core'
import { SagaRunner, Scheduler, type Follower, type ScheduledHandler, type UnitOfWork } from '@tidings/postgres'
import { openSubscription, type ServiceContext, type Worker } from './service'
import { timersAfterReplies } from './timers-after-replies'

export interface OpenedSagas {
  runner: SagaRunner
  /** The participants' replies: add to the service's subscriptions. */
  replies: Follower
  /**
   * The sagas' timers (and the service's own scheduled messages, if given), started once the replies
   * caught up with what was in the feeds at start (`timersAfterReplies`): add to the service's workers.
   */
  timers: Worker
}

export interface SagaHostOptions {
  /** The orchestrator's unit of work (`openProducer`): its feed carries the commands. */
  uow: UnitOfWork
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sagas: ReadonlyArray<SagaDefinition<any>>
  /** The consumer of the participants' feeds, where their replies come from. */
  replies: { name: string; feeds: readonly FeedReader[] }
  /** Other scheduled messages of the orchestrator's schema: one scheduler delivers them with the saga timers. */
  handlers?: Record<string, ScheduledHandler>
}

/**
 * An orchestrator's sagas, hosted: the runner (its tables migrated in the orchestrator's schema, parked
 * sagas alerted, metrics), the subscription to the participants' replies and the scheduler of its timers.
 */
export async function openSagas(ctx: ServiceContext, schema: string, options: SagaHostOptions): Promise<OpenedSagas> {
  const { db, clock, logger, metrics, alerts } = ctx
  const runner = new SagaRunner({ db, schema, uow: options.uow, sagas: options.sagas, alerts, observer: metrics.sagas.observer, clock })
  await runner.migrate()
  metrics.sagas.watch(runner)
  const follows = options.replies.feeds.map((feed) => feed.source)
  const replies = await openSubscription(ctx, schema, runner.replies(options.replies.name, follows), options.replies.feeds)
  const scheduler = new Scheduler({ db, schema, uow: options.uow, clock, logger, concurrency: 4, handlers: { ...options.handlers, ...runner.scheduledHandlers } })
  return { runner, replies, timers: timersAfterReplies(scheduler, replies, logger) }
}
