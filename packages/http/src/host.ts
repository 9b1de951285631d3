import type { Hono } from 'hono'
import { systemClock, silentLogger, type Clock, type Logger } from '@tidings/core'
import { createHttpApp } from './create-http-app'
import { feedRoutes } from './feed-routes'
import { createMetrics } from './metrics'
import { FeedSignals, forwardNotifications, Housekeeping, type Database } from '@tidings/postgres'
import type { FastPath } from './serve'
import type { AnyService, Service, ServiceContext } from './service'

export interface Host {
  http: Hono
  /** The services' fast paths, for `serveHttp`. */
  fastPath?: FastPath
  start(): Promise<void>
  stop(): Promise<void>
}

export function serviceContext(options: { db: Database; clock?: Clock; logger?: Logger; instanceId?: string; consistencyTimeoutMs?: number }): ServiceContext {
  const logger = options.logger ?? silentLogger
  return {
    db: options.db,
    clock: options.clock ?? systemClock,
    logger,
    metrics: createMetrics({ logger }),
    signals: new FeedSignals(),
    ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    ...(options.consistencyTimeoutMs !== undefined ? { consistencyTimeoutMs: options.consistencyTimeoutMs } : {}),
  }
}

/**
 * Serves some services from one process: their routes and feeds on one HTTP app (with health, readiness
 * and metrics), their subscriptions, feed wake-ups across processes and housekeeping.
 */
export function hostServices(ctx: ServiceContext, services: readonly AnyService[]): Host {
  const { db, logger, metrics, signals } = ctx
  const http = createHttpApp({ logger, metrics, readiness: { database: () => db.query('SELECT 1') } })
  for (const service of services) http.route('/', service.routes)
  const feeds = Object.assign({}, ...services.map((s) => s.feeds)) as Service['feeds']
  if (Object.keys(feeds).length > 0) http.route('/', feedRoutes({ feeds }))
  const subscriptions = services.flatMap((s) => s.subscriptions)
  const housekeeping = new Housekeeping({
    db,
    producers: services.flatMap((s) => s.producerSchemas),
    consumers: services.flatMap((s) => s.consumerSchemas),
    logger,
  })
  let stopListening: (() => Promise<void>) | undefined

  const fastPaths = services.flatMap((s) => (s.fastPath ? [s.fastPath] : []))
  return {
    http,
    ...(fastPaths.length > 0 ? { fastPath: (req, res) => fastPaths.some((answer) => answer(req, res)) } : {}),
    async start() {
      stopListening = await forwardNotifications(db, signals)
      for (const subscription of subscriptions) subscription.start()
      housekeeping.start()
    },
    async stop() {
      for (const service of services) service.close?.()
      await housekeeping.stop()
      await Promise.all(subscriptions.map((s) => s.stop()))
      await stopListening?.()
    },
  }
}
