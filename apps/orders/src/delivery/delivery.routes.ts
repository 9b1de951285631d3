import { Hono } from 'hono'
import type { Clock } from '@tidings/core'
import { requireRole, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { consistentRead, validParams, withPosition, type ConsistencyWaiter } from '@tidings/http'
import { execute, type UnitOfWork } from '@tidings/postgres'
import { OrderIdParams } from '../shared/ids'
import { deliver, DeliveryNotFound, ship, type Delivery } from './delivery'
import type { DeliveryRepository } from './delivery.repository'

/** Shipping and delivering are staff's work. */
export function deliveryRoutes({ uow, deliveries, clock, waiter, verify }: { uow: UnitOfWork; deliveries: DeliveryRepository; clock: Clock; waiter: ConsistencyWaiter; verify: TokenVerifier }): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const staff = requireRole(verify, 'staff')
  for (const [path, decision] of [
    ['ship', ship],
    ['deliver', deliver],
  ] as const) {
    routes.post(`/api/deliveries/:orderId/${path}`, staff, validParams(OrderIdParams), consistentRead({ waiter }), async (c) => {
      const { orderId } = c.req.valid('param')
      const { result, token } = await execute(uow, deliveries, async (tx) => {
        const delivery = await deliveries.byOrder(tx, orderId, { lock: true })
        if (!delivery) throw new DeliveryNotFound(orderId)
        return decision(delivery, clock.now())
      })
      withPosition(c, token)
      return c.json(view(result))
    })
  }
  return routes
}

const view = (d: Delivery) => ({ orderId: d.orderId, address: d.address, status: d.status, version: d.version })
