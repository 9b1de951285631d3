import { pino } from 'pino'
import { serveHttp } from '@tidings/http'
import { openDatabase } from '@tidings/postgres'
import { composeDemo } from './app'
import { configFrom } from './config'

const config = configFrom(process.env)
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' })
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
const demo = await composeDemo({ db, logger })
await demo.start()
const server = await serveHttp(demo.http, config.port)
logger.info({ port: server.port, storage: config.databaseUrl ? 'postgres' : config.dataDir }, `Tidings demo listening on http://localhost:${server.port}`)

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  logger.info({ signal }, 'shutting down: no new requests, finishing messages in flight')
  await server.close()
  await demo.stop()
  await db.close()
  logger.info('stopped')
  process.exit(0)
}
process.once('SIGINT', () => void shutdown('SIGINT'))
process.once('SIGTERM', () => void shutdown('SIGTERM'))
