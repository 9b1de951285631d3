/**
 * The keyed deposits route as a process, for the crash test: on DATABASE_URL (or PGlite in DATA_DIR), schema
 * SCHEMA. With DIE_AFTER_COMMIT it SIGKILLs itself between a command's commit and its answer. Prints
 * `listening <port>`.
 */
import { migrate, openDatabase, platformMigrations, UnitOfWork } from '@tidings/postgres'
import { serveHttp } from '../host/serve'
import { keyedDepositsApp, migrateDeposits } from './keyed-deposits'

const schema = process.env.SCHEMA ?? 'deposits'
const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR })
await migrate(db, schema, 'tidings', platformMigrations)
await migrateDeposits(db, schema)
const uow = new UnitOfWork({ db, schema, source: 'test.deposits' })
const die = process.env.DIE_AFTER_COMMIT ? () => process.kill(process.pid, 'SIGKILL') : undefined
const server = await serveHttp(keyedDepositsApp({ uow, schema, ...(die ? { afterCommit: die } : {}) }), 0, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)
process.once('SIGTERM', () => void server.close().then(() => db.close()).then(() => process.exit(0)))
