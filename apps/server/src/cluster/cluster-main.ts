import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { BOARD_COMMENT_URL, BOARD_POST_URL, boardGatewayRoutes, boardWeb } from '@tidings/board'
import { runCluster } from '@tidings/cluster'
import { processConfig } from '@tidings/http'
import { IDENTITY_URL, identityGatewayRoutes } from '@tidings/identity'
import { TRANSPORTS } from '../transport-config'

/**
 * `npm run start:cluster`: every service as its own process — the identity service, the board's four,
 * board.query as `BOARD_QUERY_INSTANCES` (default 2) competing instances — against PostgreSQL
 * (`DATABASE_URL`; one service may have its own, e.g. `BOARD_QUERY_DATABASE_URL`), the broker chosen by
 * `TRANSPORT` (nats | redis | rabbitmq; default nats) and Redis (`REDIS_URL`) for the read side's cache
 * evictions (and, with `DOCUMENTS=redis`, its documents), behind one HTTP entry point on `PORT` (default
 * 3000) that serves the API and the pages. A service that dies is started again.
 */
const env = process.env
const config = processConfig(env)
const logger = pino({ level: config.logLevel }).child({ service: 'gateway' })
if (!config.databaseUrl) throw new Error('The cluster runs against PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/tidings)')
const transport = env.TRANSPORT || 'nats'
if (!(TRANSPORTS as readonly string[]).includes(transport)) throw new Error(`TRANSPORT must be one of ${TRANSPORTS.join(', ')}, not ${transport}`)
const queryInstances = Number(env.BOARD_QUERY_INSTANCES ?? 2)
if (!Number.isInteger(queryInstances) || queryInstances < 1) throw new Error(`BOARD_QUERY_INSTANCES must be a positive integer, not ${env.BOARD_QUERY_INSTANCES}`)

await runCluster(
  {
    script: fileURLToPath(new URL('../service-main.ts', import.meta.url)),
    // The producers first: each service is told where the ones it reads from listen.
    stages: [
      [{ name: 'identity.member', urlVariable: IDENTITY_URL }],
      [{ name: 'board.post', urlVariable: BOARD_POST_URL }],
      [{ name: 'board.comment', urlVariable: BOARD_COMMENT_URL }],
      [{ name: 'board.query', instances: queryInstances }, { name: 'board.notification' }],
    ],
    env: { TRANSPORT: transport, EVICTIONS: env.EVICTIONS || 'redis' },
    databaseOf: (service) => env[`${service.replace('.', '_').toUpperCase()}_DATABASE_URL`] || config.databaseUrl!,
    routes: [...identityGatewayRoutes, ...boardGatewayRoutes],
    pages: (api) => boardWeb({ api, logger }),
    port: config.port,
    ...(config.host ? { hostname: config.host } : {}),
    logger,
  },
  'cluster',
)
