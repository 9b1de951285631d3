import type { Hono } from 'hono'
import { Dispatcher, silentLogger, systemClock, type Clock, type Logger } from '@tidings/core'
import { consistencyWaiter, createHttpApp, createMetrics, feedRoutes } from '@tidings/http'
import {
  DocumentStore,
  FeedNotifier,
  FeedSignals,
  forwardNotifications,
  Housekeeping,
  migrate,
  OutboxFeed,
  platformMigrations,
  Subscription,
  UnitOfWork,
  type Database,
  type Queryable,
} from '@tidings/postgres'
import { AccountsRepository, accountsMigrations } from './accounts.repository'
import { accountsRoutes } from './accounts.routes'
import { balanceProjection, type BalanceDocument } from './balance.projection'
import { balancesRoutes } from './balances.routes'

export const ACCOUNTS_SCHEMA = 'demo_accounts'
export const BALANCES_SCHEMA = 'demo_balances'

export interface Demo {
  http: Hono
  subscription: Subscription
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The composition root of the demo: an accounts service (command side, its outbox and feed) and a balances
 * read model following that feed, both in one process on one database, each in its own schema.
 */
export async function composeDemo(options: { db: Database; clock?: Clock; logger?: Logger }): Promise<Demo> {
  const { db, clock = systemClock, logger = silentLogger } = options
  await migrate(db, ACCOUNTS_SCHEMA, 'tidings', platformMigrations)
  await migrate(db, ACCOUNTS_SCHEMA, 'demo.accounts', accountsMigrations)
  await migrate(db, BALANCES_SCHEMA, 'tidings', platformMigrations)

  const metrics = createMetrics({ logger })
  const signals = new FeedSignals()
  const dispatcher = new Dispatcher<Queryable>({ logger, onAfterCommitFailure: metrics.afterCommitFailed })
  const uow = new UnitOfWork({ db, schema: ACCOUNTS_SCHEMA, source: 'demo.accounts', clock, dispatcher, signals, notifier: new FeedNotifier(db) })
  const feed = new OutboxFeed(db, ACCOUNTS_SCHEMA, 'demo.accounts', signals)
  const balances = new DocumentStore<BalanceDocument>(BALANCES_SCHEMA, 'balances')
  const subscription = new Subscription({
    db,
    schema: BALANCES_SCHEMA,
    consumer: balanceProjection(balances),
    feeds: [feed],
    observer: metrics.observer,
    logger,
    // Only one process can open an embedded data directory, so a restarted process is the same instance
    // and need not wait for its predecessor's lease to expire. Servers get a fresh id per process.
    ...(db.engine === 'pglite' ? { instanceId: 'embedded' } : {}),
  })
  const housekeeping = new Housekeeping({ db, producers: [ACCOUNTS_SCHEMA], consumers: [BALANCES_SCHEMA], logger })
  metrics.watchFeed('demo.accounts', feed, { db, schema: ACCOUNTS_SCHEMA })
  metrics.watchSubscription(subscription)
  metrics.watchDeadLetters(db, BALANCES_SCHEMA)

  const http = createHttpApp({ logger, metrics, readiness: { database: () => db.query('SELECT 1') } })
  http.get('/', (c) =>
    c.json({
      name: 'Tidings demo: accounts (commands) and balances (read model)',
      try: [
        'POST /api/accounts/:accountId/deposits {"amount": 10}',
        'POST /api/accounts/:accountId/withdrawals {"amount": 3}',
        'GET /api/balances/:accountId (send back the Tidings-Position header to read your write)',
        'GET /api/balances',
        'GET /api/feeds/demo.accounts?after=0&limit=100',
        'GET /healthz, /readyz, /metrics',
      ],
    }),
  )
  http.route('/', accountsRoutes(uow, new AccountsRepository(ACCOUNTS_SCHEMA)))
  http.route('/', balancesRoutes(db, balances, consistencyWaiter([subscription])))
  http.route('/', feedRoutes({ feeds: { 'demo.accounts': feed } }))

  let stopListening: (() => Promise<void>) | undefined
  return {
    http,
    subscription,
    async start() {
      stopListening = await forwardNotifications(db, signals)
      subscription.start()
      housekeeping.start()
    },
    async stop() {
      await housekeeping.stop()
      await subscription.stop()
      await stopListening?.()
    },
  }
}
