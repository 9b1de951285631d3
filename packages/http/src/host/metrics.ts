import { silentLogger, START, type ConsumerObserver, type Logger, type FeedLag, type FeedReader } from '@tidings/core'
import {
  countDeadLetters,
  slowestLiveReader,
  defaultRetention,
  schemaName,
  type Queryable,
  type Follower,
} from '@tidings/postgres'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { sharedSample } from './shared-sample'
import { sagaMetrics, type SagaMetrics } from './saga-metrics'

export interface MetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event loop), prefixed `tidings_`. Off by default: they start timers. */
  processMetrics?: boolean
  /** A reader not seen for this long no longer counts for the outbox backlog (the same rule as retention). */
  readerLivenessMs?: number
  logger?: Logger
}

/** Where the readers of a feed report their positions: the producer's database and schema. */
export interface FeedReadersTable {
  db: Queryable
  schema: string
}

/** What metrics need from a consumer; every `Follower` has it. */
export type WatchedSubscription = Pick<Follower, 'name' | 'isActive' | 'lag'>

export interface Metrics {
  /** This instance's own registry; the global default registry is never touched. */
  readonly registry: Registry
  /** Pass as `SubscriptionOptions.observer`: handler durations, retries, dead-lettered messages. */
  readonly observer: ConsumerObserver
  /** Pass as `DispatcherHooks.onAfterCommitFailure`. */
  readonly afterCommitFailed: (type: string, error: unknown) => void
  observeHttp(method: string, route: string, status: number, seconds: number): void
  /**
   * Outbox backlog of a feed this process produces: the events not yet read by its slowest live reader.
   * Readers report their positions in the producer's `feed_readers` table, so pass that table; without it,
   * no reader is known and every retained event counts as unread. Returns a function that stops watching.
   */
  watchFeed(source: string, feed: Pick<FeedReader, 'lag'>, readers?: FeedReadersTable): () => void
  /** Consumer lag per feed in events and seconds, and whether this process holds the subscription's lease. */
  watchSubscription(subscription: WatchedSubscription): () => void
  /** Open (not replayed) dead letters per consumer in a consumer's schema. */
  watchDeadLetters(db: Queryable, schema: string): () => void
  /** Sagas started, ended, in flight; their steps' durations. */
  readonly sagas: SagaMetrics
}

const HANDLER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

interface FeedWatch {
  feed: Pick<FeedReader, 'lag'>
  readers?: FeedReadersTable
}

/**
 * Prometheus metrics of one process. Gauges that need IO (backlog, lag, dead letters) are computed when
 * scraped, in the gauges' `collect`, so nothing polls the database between scrapes. A source that fails to
 * answer is left out of that scrape and counted in `tidings_metrics_collect_errors_total`.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry()
  const registers = [registry]
  const logger = options.logger ?? silentLogger
  const livenessMs = options.readerLivenessMs ?? defaultRetention.readerLivenessMs
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'tidings_' })

  const feeds = new Map<string, FeedWatch>()
  const subscriptions = new Set<WatchedSubscription>()
  const deadLetterSchemas = new Map<string, Queryable>()

  // Declared before the samplers it counts for; its collect waits for them so a scrape includes its own failures.
  let samplers: Array<() => Promise<unknown>> = []
  const collectErrors = new Counter({
    name: 'tidings_metrics_collect_errors_total',
    help: 'Scrapes in which a metric source failed to answer',
    labelNames: ['collector'] as const,
    registers,
    async collect() {
      await Promise.all(samplers.map((sample) => sample()))
    },
  })
  const failed = (collector: string, error: unknown, context: Record<string, unknown>): void => {
    collectErrors.inc({ collector })
    logger.warn({ ...context, err: error, collector }, 'metrics: collecting failed')
  }

  const handlerDuration = new Histogram({
    name: 'tidings_consumer_handler_duration_seconds',
    help: 'Time a consumer handler took for one message, inside its transaction',
    labelNames: ['consumer', 'type'] as const,
    buckets: HANDLER_BUCKETS,
    registers,
  })
  const retries = new Counter({
    name: 'tidings_consumer_retries_total',
    help: 'Failed attempts of a message that will be retried',
    labelNames: ['consumer', 'type'] as const,
    registers,
  })
  const deadLettered = new Counter({
    name: 'tidings_consumer_dead_lettered_total',
    help: 'Messages moved to the dead-letter store',
    labelNames: ['consumer', 'type'] as const,
    registers,
  })
  const afterCommitFailures = new Counter({
    name: 'tidings_after_commit_failures_total',
    help: 'After-commit handlers that failed (the command itself had committed)',
    labelNames: ['type'] as const,
    registers,
  })
  const httpDuration = new Histogram({
    name: 'tidings_http_request_duration_seconds',
    help: 'HTTP requests by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  })

  /** Samples every watched thing once per scrape; one that fails is left out and counted. */
  function sampleEach<T, S>(collector: string, items: () => Iterable<T>, about: (item: T) => Record<string, string>, sample: (item: T) => Promise<S[]>) {
    return sharedSample(async () => {
      const samples: S[] = []
      await Promise.all(
        [...items()].map(async (item) => {
          try {
            samples.push(...(await sample(item)))
          } catch (error) {
            failed(collector, error, about(item))
          }
        }),
      )
      return samples
    })
  }

  /** A gauge whose series are recomputed from a sample at every scrape. */
  function sampledGauge<S, L extends string>(name: string, help: string, labelNames: readonly L[], sampler: () => Promise<S[]>, series: (s: S) => [Record<L, string>, number]) {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const samples = await sampler()
        this.reset()
        for (const sample of samples) this.set(...series(sample))
      },
    })
  }

  const sampleFeeds = sampleEach(
    'feed',
    () => feeds,
    ([source]) => ({ source }),
    async ([source, watch]) => {
      const slowest = (watch.readers && (await slowestLiveReader(watch.readers.db, watch.readers.schema, livenessMs))) || START
      return [{ source, lag: await watch.feed.lag(slowest) }]
    },
  )
  sampledGauge('tidings_outbox_backlog', 'Events in the outbox not yet read by the slowest live reader of the feed', ['source'], sampleFeeds, ({ source, lag }) => [
    { source },
    lag.events,
  ])
  sampledGauge(
    'tidings_outbox_backlog_age_seconds',
    'Age of the oldest event not yet read by the slowest live reader; 0 when all is read',
    ['source'],
    sampleFeeds,
    ({ source, lag }) => [{ source }, ageSeconds(lag)],
  )

  const sampleSubscriptions = sampleEach(
    'subscription',
    () => subscriptions,
    (sub) => ({ subscription: sub.name }),
    async (sub) => Object.entries(await sub.lag()).map(([source, lag]) => ({ subscription: sub.name, source, lag })),
  )
  sampledGauge(
    'tidings_consumer_lag_events',
    'Events of a feed a subscription has not processed yet',
    ['subscription', 'source'],
    sampleSubscriptions,
    ({ subscription, source, lag }) => [{ subscription, source }, lag.events],
  )
  sampledGauge(
    'tidings_consumer_lag_seconds',
    'Age of the oldest event a subscription has not processed yet; 0 when caught up',
    ['subscription', 'source'],
    sampleSubscriptions,
    ({ subscription, source, lag }) => [{ subscription, source }, ageSeconds(lag)],
  )
  new Gauge({
    name: 'tidings_subscription_active',
    help: '1 when an instance in this process holds the subscription lease, else 0 (standby)',
    labelNames: ['subscription'] as const,
    registers,
    collect() {
      const active = new Map<string, number>()
      for (const sub of subscriptions) active.set(sub.name, Math.max(active.get(sub.name) ?? 0, sub.isActive() ? 1 : 0))
      this.reset()
      for (const [subscription, value] of active) this.set({ subscription }, value)
    },
  })

  const sampleDeadLetters = sampleEach(
    'dead_letters',
    () => deadLetterSchemas,
    ([schema]) => ({ schema }),
    async ([schema, db]) => [...(await countDeadLetters(db, schema))].map(([consumer, n]) => ({ schema, consumer, n })),
  )
  sampledGauge('tidings_dead_letters', 'Dead letters not yet replayed, per consumer', ['schema', 'consumer'], sampleDeadLetters, ({ schema, consumer, n }) => [
    { schema, consumer },
    n,
  ])

  samplers = [sampleFeeds, sampleSubscriptions, sampleDeadLetters]

  return {
    registry,
    sagas: sagaMetrics(registry, logger),
    observer: {
      handled: (consumer, type, durationMs) => handlerDuration.observe({ consumer, type }, durationMs / 1000),
      retried: (consumer, type) => retries.inc({ consumer, type }),
      deadLettered: (consumer, type) => deadLettered.inc({ consumer, type }),
    },
    afterCommitFailed: (type) => afterCommitFailures.inc({ type }),
    observeHttp: (method, route, status, seconds) => httpDuration.observe({ method, route, status: String(status) }, seconds),
    watchFeed(source, feed, readers) {
      const watch: FeedWatch = readers ? { feed, readers } : { feed }
      feeds.set(source, watch)
      return () => {
        if (feeds.get(source) === watch) feeds.delete(source)
      }
    },
    watchSubscription(subscription) {
      subscriptions.add(subscription)
      return () => subscriptions.delete(subscription)
    },
    watchDeadLetters(db, schema) {
      schemaName(schema) // refuse a bad schema name now rather than at every scrape
      deadLetterSchemas.set(schema, db)
      return () => {
        if (deadLetterSchemas.get(schema) === db) deadLetterSchemas.delete(schema)
      }
    },
  }
}

/** The position of the slowest reader seen recently; the start of the feed when there is none. */
function ageSeconds(lag: FeedLag): number {
  return lag.oldestUnreadAt ? Math.max(0, (Date.now() - lag.oldestUnreadAt.getTime()) / 1000) : 0
}
