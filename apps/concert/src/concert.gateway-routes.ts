import type { GatewayRoutes } from '@tidings/cluster'

/** Which concert service answers each public path, for a gateway in front of the services run as processes. */
export const concertGatewayRoutes: GatewayRoutes = [
  [/^\/api\/queue\/[^/]+\/(events|ws)$/, 'concert.channel'],
  [/^\/api\/concerts\/[^/]+\/queue$|^\/api\/queue(\/|$)/, 'concert.waiting'],
  [/^\/api\/(concerts|performances|reservations)(\/|$)/, 'concert.concert'],
  [/^\/api\/wallet(\/|$)/, 'concert.wallet'],
  [/^\/api\/payments(\/|$)/, 'concert.payment'],
]
