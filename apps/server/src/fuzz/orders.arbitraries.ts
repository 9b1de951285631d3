import fc from 'fast-check'
import { CreditBody, PlaceOrderBody, ShippingAddressBody } from '@tidings/orders'
import { authSpec, credential } from './auth.arbitraries'
import type { FuzzRequest } from './fuzz-request'
import type { World } from './fuzz-world'
import { idSegment, nastyString, numberParam } from './garbage.arbitraries'
import { positionToken } from './headers.arbitraries'
import { app, queryOf, routeRequest } from './request.arbitraries'
import { jsonBody } from './schema.arbitraries'

const goodAddress = fc.lorem({ maxCount: 8 }).filter((a) => a.trim().length > 0)
const address = fc.oneof(
  { arbitrary: fc.lorem({ maxCount: 8 }), weight: 5 },
  { arbitrary: fc.constantFrom('1 Main St\nFlat 2', 'a'.repeat(500), 'a'.repeat(501), ' ', '\u202Eevil', 'line\u0000nul', '東京都千代田区'), weight: 2 },
  { arbitrary: nastyString, weight: 2 },
)

export function ordersRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const { ids } = world
  const orders = idSegment([...ids.aliceOrders, ...ids.bobOrders])
  const customers = idSegment(ids.memberIds)
  const members = authSpec()
  // Staff and the operator get more of the role routes' requests, so the routes behind the role check run.
  const privileged = authSpec({ credentials: fc.oneof(credential(), fc.constantFrom({ kind: 'token', who: 'staff' } as const, { kind: 'token', who: 'oper' } as const)) })
  const withPosition = queryOf({ position: positionToken })
  const ledgerPage = queryOf({ after: idSegment(ids.memberIds), limit: numberParam([1, 100, 500]) })

  return app(
    [5, routeRequest({ route: 'POST /api/orders', method: 'POST', path: fc.oneof({ arbitrary: fc.constant('/api/orders'), weight: 9 }, { arbitrary: fc.constant('/api/orders/'), weight: 1 }), auth: members, body: jsonBody(PlaceOrderBody, { shippingAddress: { valid: goodAddress, any: address } }) })],
    [3, routeRequest({ route: 'POST /api/orders/:orderId/cancel', method: 'POST', path: orders.map((o) => `/api/orders/${o}/cancel`), auth: members, query: withPosition })],
    [3, routeRequest({ route: 'PATCH /api/orders/:orderId/shipping-address', method: 'PATCH', path: orders.map((o) => `/api/orders/${o}/shipping-address`), auth: members, query: withPosition, body: jsonBody(ShippingAddressBody, { shippingAddress: { valid: goodAddress, any: address } }) })],
    [2, routeRequest({ route: 'GET /api/customers/me', method: 'GET', path: fc.constant('/api/customers/me'), auth: members })],
    [2, routeRequest({ route: 'GET /api/customers/me/ledger', method: 'GET', path: fc.constant('/api/customers/me/ledger'), auth: members, query: ledgerPage })],
    [2, routeRequest({ route: 'GET /api/customers/:customerId/ledger', method: 'GET', path: customers.map((c) => `/api/customers/${c}/ledger`), auth: privileged, query: ledgerPage })],
    [2, routeRequest({ route: 'GET /api/customers/:customerId', method: 'GET', path: customers.map((c) => `/api/customers/${c}`), auth: privileged })],
    [3, routeRequest({ route: 'POST /api/customers/:customerId/credit', method: 'POST', path: customers.map((c) => `/api/customers/${c}/credit`), auth: privileged, body: jsonBody(CreditBody) })],
    [2, routeRequest({ route: 'GET /api/deliveries/:orderId', method: 'GET', path: orders.map((o) => `/api/deliveries/${o}`), auth: privileged })],
    [2, routeRequest({ route: 'POST /api/deliveries/:orderId/ship', method: 'POST', path: orders.map((o) => `/api/deliveries/${o}/ship`), auth: privileged, query: withPosition })],
    [2, routeRequest({ route: 'POST /api/deliveries/:orderId/deliver', method: 'POST', path: orders.map((o) => `/api/deliveries/${o}/deliver`), auth: privileged, query: withPosition })],
    [3, routeRequest({ route: 'GET /api/order-status/:orderId', method: 'GET', path: orders.map((o) => `/api/order-status/${o}`), auth: privileged, query: withPosition })],
    [2, routeRequest({ route: 'GET /api/order-status', method: 'GET', path: fc.constant('/api/order-status'), auth: privileged, query: queryOf({ customerId: customers, position: positionToken }) })],
  )
}
