import { pino } from 'pino'
import { boardServices, loadTokenSecret, memberTokens } from '@tidings/board'
import { hostServices, processConfig, runUntilSignalled, serviceContext } from '@tidings/http'
import { ordersServices } from '@tidings/orders'
import { openDatabase } from '@tidings/postgres'

/**
 * `npm start`: every app in one process on one port — the board and orders — on embedded PGlite in ./data
 * (or DATABASE_URL), each service in its own schema.
 */
const config = processConfig(process.env)
const logger = pino({ level: config.logLevel })
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
// Only one process can open an embedded data directory: a restarted one is the same instance.
const ctx = serviceContext({ db, logger, ...(db.engine === 'pglite' ? { instanceId: 'embedded' } : {}) })
const board = await boardServices(ctx, memberTokens(await loadTokenSecret({ env: process.env, dataDir: config.dataDir }), ctx.clock))
const orders = await ordersServices(ctx, { viewDatabaseUrl: process.env.VIEW_DATABASE_URL || undefined })
const host = hostServices(ctx, [...Object.values(board), ...orders.services])
await runUntilSignalled({ host, db, port: config.port, logger, name: 'Tidings (board, orders)', storage: config.databaseUrl ? 'postgres' : config.dataDir })
