import { pino } from 'pino'
import { boardProcesses } from '@tidings/board'
import { concertProcesses } from '@tidings/concert'
import { hostServices, processConfig, runUntilSignalled, serviceContext, serviceCredential, type ProcessResources, type ServiceOpeners } from '@tidings/http'
import { identityProcesses } from '@tidings/identity'
import { ordersProcesses } from '@tidings/orders'
import { openDatabase } from '@tidings/postgres'
import { documentsFromEnv, evictionBusFromEnv, transportFromEnv } from './transport-config'

/**
 * One service of any app as its own process against PostgreSQL (`DATABASE_URL`), e.g.
 * `npm run start:service -- board.query`. It finds the services it depends on at the URLs its app names
 * (`IDENTITY_URL` for tokens and members; the board's `BOARD_POST_URL`, `BOARD_COMMENT_URL`; orders'
 * `ORDERS_ORDER_URL`, `ORDERS_PAYMENT_URL`, `ORDERS_DELIVERY_URL`; the concert system's `CONCERT_CONCERT_URL`) and reads their feeds and latest state
 * over HTTP, presenting the deployment's service credential (`TIDINGS_SERVICE_TOKEN`, the same in every
 * service of it), which its own `/internal` and feed routes ask for too. With `TRANSPORT=nats|redis|rabbitmq` the events go through that
 * broker instead of the feeds' HTTP endpoints (see `transportFromEnv`); with `EVICTIONS=redis` the instances
 * of a read side tell each other which documents changed; with `DOCUMENTS=redis` a read side keeps its
 * documents in Redis.
 */
const processes: ServiceOpeners = { ...identityProcesses, ...boardProcesses, ...ordersProcesses, ...concertProcesses }

// Started by a supervisor (`npm run start:cluster`) over an IPC channel: when it dies, so does this service,
// also while it is still starting (a supervisor that failed to start the others would leave it alone).
if (process.send) {
  if (!process.connected) process.exit(1)
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
}
const env = process.env
const name = process.argv[2] ?? env.TIDINGS_SERVICE ?? ''
const open = processes[name]
if (!open) throw new Error(`Which service? One of: ${Object.keys(processes).join(', ')} (got "${name}")`)
const config = processConfig(env)
const credential = serviceCredential(env)
if (!config.databaseUrl) throw new Error('A service on its own runs against PostgreSQL: set DATABASE_URL')
const logger = pino({ level: config.logLevel }).child({ service: name })
const db = await openDatabase({ databaseUrl: config.databaseUrl, maxConnections: config.databasePool })
const transport = await transportFromEnv(env)
const opened: Array<{ close(): Promise<void> } | undefined> = [transport]
const once = <T extends { close(): Promise<void> } | undefined>(make: () => Promise<T>): (() => Promise<T>) => {
  let made: Promise<T> | undefined
  return () => (made ??= make().then((resource) => (opened.push(resource), resource)))
}
const documents = once(() => documentsFromEnv(env))
const resources: ProcessResources = {
  evictions: once(() => evictionBusFromEnv(env, logger)),
  documents: async (collection) => (await documents())?.collection(collection),
}
const ctx = serviceContext({ db, logger, consistencyTimeoutMs: config.consistencyTimeoutMs, transport, serviceCredential: credential, alertWebhookUrl: config.alertWebhookUrl })
const host = hostServices(ctx, [await open(ctx, env, resources)])
await runUntilSignalled({ host, db, closing: opened, port: config.port, hostname: config.host, logger, name, storage: transport ? `postgres, ${transport.name}` : 'postgres' })
