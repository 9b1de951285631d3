import { pino } from 'pino'
import { openDatabase } from '@tidings/postgres'
import { loadTokenSecret } from './auth'
import { composeBoard } from './board'
import { configFrom } from './config'
import { runUntilSignalled } from '@tidings/http'

/** `npm start`: the whole board in one process, on embedded PGlite in ./data unless DATABASE_URL is set. */
const config = configFrom(process.env)
const logger = pino({ level: config.logLevel })
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
const tokenSecret = await loadTokenSecret({ env: process.env, dataDir: config.dataDir })
const board = await composeBoard({ db, tokenSecret, logger, ...(db.engine === 'pglite' ? { instanceId: 'embedded' } : {}) })
await runUntilSignalled({ host: board, db, port: config.port, logger, name: 'Tidings board', storage: config.databaseUrl ? 'postgres' : config.dataDir })
