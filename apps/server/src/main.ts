import { pino } from 'pino'
import { processConfig, runUntilSignalled, SERVICE_TOKEN, serviceContext, serviceCredential } from '@tidings/http'
import { openDatabase } from '@tidings/postgres'
import { paymentTimeoutOf } from '@tidings/orders'
import { concertSettingsFromEnv } from '@tidings/concert'
import { identityOptionsFromEnv } from '@tidings/identity'
import { composeServer } from './server'

/**
 * `npm start`: every app in one process on one port — the board, orders and concert, the board's pages at `/` and
 * the console at `/console` — on embedded PGlite in ./data (or DATABASE_URL), each service in its own schema.
 */
const config = processConfig(process.env)
const logger = pino({ level: config.logLevel })
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, maxConnections: config.databasePool })
// Only one process can open an embedded data directory: a restarted one is the same instance.
// The feeds and /internal routes answer only TIDINGS_SERVICE_TOKEN (e.g. for a consumer elsewhere); without
// one, a credential no other process knows.
const ctx = serviceContext({
  db,
  logger,
  consistencyTimeoutMs: config.consistencyTimeoutMs,
  alertWebhookUrl: config.alertWebhookUrl,
  ...(db.engine === 'pglite' ? { instanceId: 'embedded' } : {}),
  ...(process.env[SERVICE_TOKEN] ? { serviceCredential: serviceCredential(process.env) } : {}),
})
const host = await composeServer(ctx, {
  // Abuse limits on sign-up and log-in (TIDINGS_LOGIN_*, TIDINGS_SIGNUPS_*, TIDINGS_TRUST_PROXY).
  identity: identityOptionsFromEnv(process.env),
  viewDatabaseUrl: process.env.VIEW_DATABASE_URL || undefined,
  operatorToken: process.env.TIDINGS_OPERATOR_TOKEN || undefined,
  ordersPaymentTimeoutMs: paymentTimeoutOf(process.env),
  // A demo concert on an empty catalog, so that a new user sees something at once (TIDINGS_DEMO_CONCERT=off: none).
  demoConcert: process.env.TIDINGS_DEMO_CONCERT !== 'off',
  concert: concertSettingsFromEnv(process.env),
})
await runUntilSignalled({ host, db, port: config.port, hostname: config.host, logger, name: 'Tidings (identity, board, orders, concert, console)', storage: config.databaseUrl ? 'postgres' : config.dataDir })
