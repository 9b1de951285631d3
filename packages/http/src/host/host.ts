import type { Hono } from 'hono'
import { systemClock, silentLogger, type Clock, type Logger, type Transport } from '@tidings/core'
import { createHttpApp } from '../create-http-app'
import { feedRoutes } from '../feed-routes'
import { createMetrics } from './metrics'
import { AlertNotifier } from '../alerts/alert-notifier'
import { ConsumerBehindWatcher } from '../alerts/consumer-behind'
import { processOnlyCredential, requireServiceCredential, SERVICE_ROUTES } from './service-credential'
import { FeedSignals, forwardNotifications, Housekeeping, Relay, type Database } from '@tidings/postgres'
import { type FastPath, fastPathOf, type ServeOptions, type Upgrade } from './serve'
import type { AnyService, Service, ServiceContext } from './service'

export interface Host {
  http: Hono
  /** The services' fast paths, for `serveHttp`. */
  fastPath?: FastPath
  /** The services' protocol switches, for `serveHttp`. */
  upgrade?: Upgrade
  start(): Promise<void>
  stop(): Promise<void>
}

export function serviceContext(options: {
  db: Database
  clock?: Clock
  logger?: Logger
  instanceId?: string
  consistencyTimeoutMs?: number
  transport?: Transport
  /** The deployment's service credential (`serviceCredential(env)`); by default one only this process knows. */
  serviceCredential?: string
  /** Where failure alerts are posted (`TIDINGS_ALERT_WEBHOOK_URL`); without it they are logged and counted only. */
  alertWebhookUrl?: string | undefined
}): ServiceContext {
  const logger = options.logger ?? silentLogger
  const metrics = createMetrics({ logger })
  return {
    db: options.db,
    clock: options.clock ?? systemClock,
    logger,
    metrics,
    alerts: new AlertNotifier({ webhookUrl: options.alertWebhookUrl, logger, registry: metrics.registry }),
    signals: new FeedSignals(),
    serviceCredential: options.serviceCredential ?? processOnlyCredential(),
    ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    ...(options.consistencyTimeoutMs !== undefined ? { consistencyTimeoutMs: options.consistencyTimeoutMs } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
  }
}

/**
 * Serves some services from one process: their routes and feeds on one HTTP app (with health, readiness
 * and metrics), their subscriptions, feed wake-ups across processes and housekeeping. With a transport in
 * the context it also runs a relay (one active per feed across processes) from every feed it produces to
 * the broker, and declares on the broker every source it produces or follows before anything starts.
 */
export function hostServices(ctx: ServiceContext, services: readonly AnyService[]): Host {
  const { db, logger, metrics, alerts, signals } = ctx
  const http = createHttpApp({ logger, metrics, alerts, readiness: { database: () => db.query('SELECT 1') } })
  const servicesOnly = requireServiceCredential(ctx.serviceCredential)
  for (const path of SERVICE_ROUTES) http.use(path, servicesOnly)
  for (const service of services) http.route('/', service.routes)
  const feeds = Object.assign({}, ...services.map((s) => s.feeds)) as Service['feeds']
  if (Object.keys(feeds).length > 0) http.route('/', feedRoutes({ feeds }))
  const subscriptions = services.flatMap((s) => s.subscriptions)
  const { transport } = ctx
  const publisher = transport?.publisher()
  const relays = publisher
    ? Object.values(feeds).map((feed) => new Relay({ db, feed, publisher, logger, ...(ctx.instanceId ? { instanceId: ctx.instanceId } : {}) }))
    : []
  const housekeeping = new Housekeeping({
    db,
    producers: services.flatMap((s) => s.producerSchemas),
    consumers: services.flatMap((s) => s.consumerSchemas),
    logger,
  })
  const behind = new ConsumerBehindWatcher({ alerts, subscriptions, logger })
  const workers = [alerts, behind, ...services.flatMap((s) => s.workers ?? [])]
  let stopListening: (() => Promise<void>) | undefined

  const fastPath = fastPathOf(services.map((s) => s.fastPath))
  const upgrades = services.flatMap((s) => (s.upgrade ? [s.upgrade] : []))
  return {
    http,
    ...(fastPath ? { fastPath } : {}),
    ...(upgrades.length > 0 ? { upgrade: (req, socket, head) => upgrades.some((take) => take(req, socket, head)) } : {}),
    async start() {
      if (transport) {
        const sources = new Set([...Object.keys(feeds), ...subscriptions.flatMap((s) => s.sources)])
        for (const source of sources) await transport.declare(source)
      }
      stopListening = await forwardNotifications(db, signals)
      for (const relay of relays) relay.start()
      for (const subscription of subscriptions) subscription.start()
      for (const worker of workers) worker.start()
      housekeeping.start()
    },
    async stop() {
      for (const service of services) service.close?.()
      await housekeeping.stop()
      await Promise.all([...workers, ...subscriptions, ...relays].map((s) => s.stop()))
      await publisher?.close()
      await stopListening?.()
    },
  }
}

/** What `serveHttp` needs of a host besides its app: the fast paths and protocol switches of its services. */
export function servingOf(host: Pick<Host, 'fastPath' | 'upgrade'>): Pick<ServeOptions, 'fastPath' | 'upgrade'> {
  return { ...(host.fastPath ? { fastPath: host.fastPath } : {}), ...(host.upgrade ? { upgrade: host.upgrade } : {}) }
}
