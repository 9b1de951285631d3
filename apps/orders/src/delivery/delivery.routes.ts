import { Hono } from 'hono'
import type { Clock } from '@tidings/core'
import { requireRole, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { awaitOutcome, consistentCommand, idempotent, validParams, withPosition, type ConsistencyWaiter, type ProgressSource } from '@tidings/http'
import { execute, type Database, type Queryable, type UnitOfWork } from '@tidings/postgres'
import { OrderIdParams } from '../shared/ids'
import { deliver, DeliveryNotFound, OrderWasCanceled, requestShipping, type Delivery } from './delivery'
import type { DeliveryRepository } from './delivery.repository'

export interface DeliveryRoutesDeps {
  db: Database
  uow: UnitOfWork
  deliveries: DeliveryRepository
  clock: Clock
  waiter: ConsistencyWaiter
  verify: TokenVerifier
  /** The delivery's own reactions: they bring the order's answer to a shipment request. */
  follows: Pick<ProgressSource, 'onProgress'>
  /** How long a shipment request waits for the order's answer before it answers 202. */
  outcomeWaitMs?: number
}

/**
 * Shipping and delivering are staff's work. Shipping asks the order first (it may have been canceled): the
 * answer comes back through the feeds, and the route waits a while for it — 200 shipped, 409 canceled, or
 * 202 with the delivery to poll when the order has not answered yet.
 */
export function deliveryRoutes({ db, uow, deliveries, clock, waiter, verify, follows, outcomeWaitMs }: DeliveryRoutesDeps): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const staff = requireRole(verify, 'staff')
  const once = idempotent(uow)
  const existing = async (q: Queryable, orderId: string, options: { lock?: boolean } = {}): Promise<Delivery> => {
    const delivery = await deliveries.byOrder(q, orderId, options)
    if (!delivery) throw new DeliveryNotFound(orderId)
    return delivery
  }

  routes.get('/api/deliveries/:orderId', staff, validParams(OrderIdParams), async (c) => c.json(view(await existing(db, c.req.valid('param').orderId))))

  routes.post('/api/deliveries/:orderId/ship', staff, once, validParams(OrderIdParams), consistentCommand({ waiter }), async (c) => {
    const { orderId } = c.req.valid('param')
    const { token } = await execute(uow, deliveries, async (tx) => requestShipping(await existing(tx, orderId, { lock: true }), clock.now()))
    withPosition(c, token)
    const outcome = await awaitOutcome(() => existing(db, orderId), (d) => d.status !== 'SHIP_REQUESTED', { progress: [follows], ...(outcomeWaitMs !== undefined ? { timeoutMs: outcomeWaitMs } : {}) })
    if (outcome.status === 'CANCELED') throw new OrderWasCanceled(orderId)
    if (outcome.status === 'SHIP_REQUESTED') {
      c.header('Location', `/api/deliveries/${orderId}`)
      return c.json(view(outcome), 202)
    }
    return c.json(view(outcome))
  })

  routes.post('/api/deliveries/:orderId/deliver', staff, once, validParams(OrderIdParams), consistentCommand({ waiter }), async (c) => {
    const { orderId } = c.req.valid('param')
    const { result, token } = await execute(uow, deliveries, async (tx) => deliver(await existing(tx, orderId, { lock: true }), clock.now()))
    withPosition(c, token)
    return c.json(view(result))
  })

  return routes
}

const view = (d: Delivery) => ({ orderId: d.orderId, address: d.address, status: d.status, version: d.version })
