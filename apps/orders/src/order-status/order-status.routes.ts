import { Hono } from 'hono'
import { TidingsError } from '@tidings/core'
import * as z from 'zod'
import { holdsRole, requireMember, RoleRequired, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { consistentRead, uuid, validParams, validQuery, type ConsistencyWaiter } from '@tidings/http'
import { OrderIdParams } from '../shared/ids'
import type { OrderStatusStore } from './order-status'

export class OrderStatusNotFound extends TidingsError {
  constructor(orderId: string) {
    super('ORDER_NOT_FOUND', 'not_found', `No order ${orderId} in the order-status view`)
  }
}

/**
 * A customer reads the status of their own orders, from the view only, never from the three services (no
 * API composition); another customer's order is not found. Staff read any order, and any customer's
 * (`?customerId=`).
 */
export function orderStatusRoutes({ store, waiter, verify }: { store: OrderStatusStore; waiter: ConsistencyWaiter; verify: TokenVerifier }): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const readYourWrites = consistentRead({ waiter })
  routes.use('/api/order-status', requireMember(verify))
  routes.use('/api/order-status/*', requireMember(verify))
  routes.get('/api/order-status/:orderId', validParams(OrderIdParams), readYourWrites, async (c) => {
    const { orderId } = c.req.valid('param')
    const view = await store.get(orderId)
    if (!view || (view.customerId !== c.get('memberId') && !holdsRole(c, 'staff'))) throw new OrderStatusNotFound(orderId)
    return c.json(view)
  })
  routes.get('/api/order-status', validQuery(z.object({ customerId: uuid.optional() })), readYourWrites, async (c) => {
    const customerId = c.req.valid('query').customerId ?? c.get('memberId')
    if (customerId !== c.get('memberId') && !holdsRole(c, 'staff')) throw new RoleRequired(['staff'])
    return c.json({ items: await store.byCustomer(customerId) })
  })
  return routes
}
