import { Hono } from 'hono'
import type { Clock } from '@tidings/core'
import { consistentRead, validParams, withPosition, type ConsistencyWaiter } from '@tidings/http'
import { execute, type UnitOfWork } from '@tidings/postgres'
import { OrderIdParams } from '../shared/ids'
import { deliver, DeliveryNotFound, ship, type Delivery } from './delivery'
import type { DeliveryRepository } from './delivery.repository'

export function deliveryRoutes({ uow, deliveries, clock, waiter }: { uow: UnitOfWork; deliveries: DeliveryRepository; clock: Clock; waiter: ConsistencyWaiter }): Hono {
  const routes = new Hono()
  for (const [path, decision] of [
    ['ship', ship],
    ['deliver', deliver],
  ] as const) {
    routes.post(`/api/deliveries/:orderId/${path}`, validParams(OrderIdParams), consistentRead({ waiter }), async (c) => {
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
