import { pino } from 'pino'
import { processConfig, serveHttp } from '@tidings/http'
import { TRANSPORTS } from '../transport-config'
import type { BoardServiceName } from './board-routes'
import { boardGateway } from './gateway'
import { ServiceProcess } from './service-process'

/**
 * `npm run start:cluster`: every board service as its own process — board.query as
 * `BOARD_QUERY_INSTANCES` (default 2) competing instances — against PostgreSQL (`DATABASE_URL`; one
 * service may have its own, e.g. `BOARD_QUERY_DATABASE_URL`) and the broker chosen by `TRANSPORT`
 * (nats | redis | rabbitmq; default nats) and Redis (`REDIS_URL`) for the read side's cache evictions (and, with
 * `DOCUMENTS=redis`, its documents), behind one
 * HTTP entry point on `PORT` (default 3000) that serves the API and the pages. A service that dies is
 * started again.
 */
const env = process.env
const config = processConfig(env)
const logger = pino({ level: config.logLevel }).child({ service: 'board.gateway' })
if (!config.databaseUrl) throw new Error('The board cluster runs against PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/board)')
const transport = env.TRANSPORT || 'nats'
if (!(TRANSPORTS as readonly string[]).includes(transport)) throw new Error(`TRANSPORT must be one of ${TRANSPORTS.join(', ')}, not ${transport}`)
const queryInstances = Number(env.BOARD_QUERY_INSTANCES ?? 2)
if (!Number.isInteger(queryInstances) || queryInstances < 1) throw new Error(`BOARD_QUERY_INSTANCES must be a positive integer, not ${env.BOARD_QUERY_INSTANCES}`)

// A signal during the start stops the cluster once it has started: no service is left running alone.
let requestStop = (_signal: string): void => {}
const stopRequested = new Promise<string>((resolve) => (requestStop = resolve))
process.once('SIGINT', () => requestStop('SIGINT'))
process.once('SIGTERM', () => requestStop('SIGTERM'))

const databaseOf = (service: BoardServiceName): string => env[`${service.replace('.', '_').toUpperCase()}_DATABASE_URL`] || config.databaseUrl!
const urls: Record<string, string> = {}
const running = new Map<BoardServiceName, ServiceProcess[]>()
async function launch(service: BoardServiceName, instances = 1): Promise<void> {
  const processEnv = { ...urls, TRANSPORT: transport, EVICTIONS: env.EVICTIONS || 'redis', DATABASE_URL: databaseOf(service) }
  const processes = Array.from({ length: instances }, () => new ServiceProcess(service, processEnv, logger))
  running.set(service, processes)
  await Promise.all(processes.map((p) => p.start()))
}

// The producers first: each service is told where the ones it reads from listen.
await Promise.all([launch('board.member'), launch('board.post')])
urls.BOARD_MEMBER_URL = running.get('board.member')![0]!.url
urls.BOARD_POST_URL = running.get('board.post')![0]!.url
await launch('board.comment')
urls.BOARD_COMMENT_URL = running.get('board.comment')![0]!.url
await Promise.all([launch('board.query', queryInstances), launch('board.notification')])

const gateway = boardGateway({ instances: (service) => running.get(service)!.map((p) => p.url), logger })
const server = await serveHttp(gateway, config.port)
logger.info({ port: server.port, transport, services: Object.fromEntries([...running].map(([name, ps]) => [name, ps.map((p) => p.url)])) }, `board cluster listening on http://localhost:${server.port}`)

stopRequested.then((signal) => shutdown(signal)).catch((error: unknown) => {
  logger.error({ err: error }, 'the board cluster did not stop cleanly')
  process.exit(1)
})
async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'stopping the board cluster')
  // A service that exits meanwhile (the signal may reach the whole process group) is not started again.
  const all = [...running.values()].flat()
  for (const p of all) p.holdRestarts()
  await server.close()
  await Promise.all(all.map((p) => p.stop()))
  process.exit(0)
}
