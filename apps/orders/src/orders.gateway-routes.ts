import type { GatewayRoutes } from '@tidings/cluster'

/** Which orders service answers each public path, for a gateway in front of the services run as processes. */
export const ordersGatewayRoutes: GatewayRoutes = [
  [/^\/api\/orders(\/|$)/, 'orders.order'],
  [/^\/api\/customers(\/|$)/, 'orders.payment'],
  [/^\/api\/deliveries(\/|$)/, 'orders.delivery'],
  [/^\/api\/order-status(\/|$)/, 'orders.status'],
]
