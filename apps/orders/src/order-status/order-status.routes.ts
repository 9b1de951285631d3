import { Hono } from 'hono'
import * as z from 'zod'
import { TidingsError } from '@tidings/core'
import { consistentRead, validParams, validQuery, type ConsistencyWaiter } from '@tidings/http'
import { CustomerId, OrderIdParams } from '../shared/ids'
import type { OrderStatusStore } from './order-status'

export class OrderStatusNotFound extends TidingsError {
  constructor(orderId: string) {
    super('ORDER_NOT_FOUND', 'not_found', `No order ${orderId} in the order-status view`)
  }
}

/** Reads come only from the view, never from the three services (no API composition). */
export function orderStatusRoutes({ store, waiter }: { store: OrderStatusStore; waiter: ConsistencyWaiter }): Hono {
  const routes = new Hono()
  const readYourWrites = consistentRead({ waiter })
  routes.get('/api/order-status/:orderId', validParams(OrderIdParams), readYourWrites, async (c) => {
    const { orderId } = c.req.valid('param')
    const view = await store.get(orderId)
    if (!view) throw new OrderStatusNotFound(orderId)
    return c.json(view)
  })
  routes.get('/api/order-status', validQuery(z.object({ customerId: CustomerId })), readYourWrites, async (c) => {
    return c.json({ items: await store.byCustomer(c.req.valid('query').customerId) })
  })
  return routes
}
