import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { BOARD_COMMENT_URL, BOARD_POST_URL, boardGatewayRoutes, boardWeb } from '@tidings/board'
import { runCluster, type GatewayApi } from '@tidings/cluster'
import { processConfig, processOnlyCredential, SERVICE_TOKEN } from '@tidings/http'
import { ABUSE_LIMIT_VARIABLES, IDENTITY_URL, identityGatewayRoutes, TRUST_PROXY } from '@tidings/identity'
import { ordersGatewayRoutes } from '@tidings/orders'
import { CONCERT_CONCERT_URL, CONCERT_WAITING_URL, concertGatewayRoutes, concertWeb } from '@tidings/concert'
import { Hono } from 'hono'
import { TRANSPORTS } from '../transport-config'

/**
 * `npm run start:cluster`: every service as its own process — the identity service, the board's four
 * (board.query as `BOARD_QUERY_INSTANCES`, default 2, competing instances), orders' four (the view in
 * MariaDB with `VIEW_DATABASE_URL`) and the concert system's seven (waiting, active, expiration, channel, concert, wallet, payment);
 * `TIDINGS_APPS=board`, `orders` or `concert` (or a list) runs those apps only — against PostgreSQL
 * (`DATABASE_URL`; one service may have its own, e.g. `BOARD_QUERY_DATABASE_URL`), the broker chosen by
 * `TRANSPORT` (nats | redis | rabbitmq; default nats) and Redis (`REDIS_URL`) for the read side's cache
 * evictions (and, with `DOCUMENTS=redis`, its documents), behind one HTTP entry point on `PORT` (default
 * 3000) that serves the API and the pages. A service that dies is started again. The services call each
 * other's service routes with `TIDINGS_SERVICE_TOKEN`: one made for this run unless the deployment gives one.
 */
const env = process.env
env[SERVICE_TOKEN] ||= processOnlyCredential() // the children inherit it
const config = processConfig(env)
const logger = pino({ level: config.logLevel }).child({ service: 'gateway' })
if (!config.databaseUrl) throw new Error('The cluster runs against PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/tidings)')
const transport = env.TRANSPORT || 'nats'
if (!(TRANSPORTS as readonly string[]).includes(transport)) throw new Error(`TRANSPORT must be one of ${TRANSPORTS.join(', ')}, not ${transport}`)
const queryInstances = Number(env.BOARD_QUERY_INSTANCES ?? 2)
if (!Number.isInteger(queryInstances) || queryInstances < 1) throw new Error(`BOARD_QUERY_INSTANCES must be a positive integer, not ${env.BOARD_QUERY_INSTANCES}`)

const APPS = ['board', 'orders', 'concert'] as const
const apps = (env.TIDINGS_APPS || APPS.join(',')).split(',').map((app) => app.trim())
const unknown = apps.filter((app) => !(APPS as readonly string[]).includes(app))
if (unknown.length > 0 || apps.length === 0) throw new Error(`TIDINGS_APPS names apps among ${APPS.join(', ')} (the identity service always runs), not ${env.TIDINGS_APPS}`)
const board = apps.includes('board')
const orders = apps.includes('orders')
const concert = apps.includes('concert')
// The gateway passes requests on without adding the client's address, so the identity service sees every
// client as the gateway: limits counted per address would be one limit for everybody, and one account's
// failures "from the gateway" a lockout anyone could trigger. Unless a proxy in front appends the address
// (TIDINGS_TRUST_PROXY), they are off, and the per-account limits hold guessers (unless set explicitly).
const { loginFailuresPerAccount: _perAccount, signUpsPerAccount: _signUpsPerAccount, ...perAddressLimits } = ABUSE_LIMIT_VARIABLES
const addressesUnknown = !(Number(env[TRUST_PROXY] || 0) > 0)
const identityEnv = addressesUnknown ? Object.fromEntries(Object.values(perAddressLimits).map((name) => [name, env[name] || 'off'])) : {}

/** The pages of the apps that run, served by the gateway as a client of the API it passes on (the concert's use the board's sign-in). */
function webPages(api: GatewayApi): Hono {
  const pages = new Hono()
  if (board || concert) pages.route('/', boardWeb({ api, logger }))
  if (concert) pages.route('/', concertWeb({ api, logger }))
  return pages
}

await runCluster(
  {
    script: fileURLToPath(new URL('../service-main.ts', import.meta.url)),
    // Producers first: each service is told where the ones it reads from listen. Orders' services follow
    // each other through the broker only, so they need no URLs but the identity service's.
    stages: [
      [{ name: 'identity.member', urlVariable: IDENTITY_URL }],
      [
        ...(board ? [{ name: 'board.post', urlVariable: BOARD_POST_URL }] : []),
        ...(orders ? ['orders.order', 'orders.payment', 'orders.delivery', 'orders.status'].map((name) => ({ name })) : []),
        ...(concert ? [{ name: 'concert.waiting', urlVariable: CONCERT_WAITING_URL }] : []),
      ],
      // The concert and payment services ask the waiting room what a queue token allows; the payment
      // service reads reservations from the concert service.
      ...(concert ? [[{ name: 'concert.concert', urlVariable: CONCERT_CONCERT_URL }, { name: 'concert.active' }, { name: 'concert.expiration' }, { name: 'concert.channel' }], [{ name: 'concert.wallet' }, { name: 'concert.payment' }]] : []),
      ...(board ? [[{ name: 'board.comment', urlVariable: BOARD_COMMENT_URL }], [{ name: 'board.query', instances: queryInstances }, { name: 'board.notification' }]] : []),
    ],
    env: { TRANSPORT: transport, EVICTIONS: env.EVICTIONS || 'redis', WAITING_ROOM: env.WAITING_ROOM || 'redis', VIEW_DATABASE_URL: env.VIEW_DATABASE_URL, ...identityEnv },
    databaseOf: (service) => env[`${service.replace('.', '_').toUpperCase()}_DATABASE_URL`] || config.databaseUrl!,
    routes: [...identityGatewayRoutes, ...(board ? boardGatewayRoutes : []), ...(orders ? ordersGatewayRoutes : []), ...(concert ? concertGatewayRoutes : [])],
    ...(board || concert ? { pages: (api: GatewayApi) => webPages(api) } : {}),
    port: config.port,
    ...(config.host ? { hostname: config.host } : {}),
    logger,
  },
  'cluster',
)
