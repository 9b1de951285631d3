import { Hono } from 'hono'
import * as z from 'zod'
import { uuidv7, type Clock } from '@tidings/core'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { consistentCommand, idempotent, validBody, validParams, withPosition, type ConsistencyWaiter } from '@tidings/http'
import { execute, type Queryable, type UnitOfWork } from '@tidings/postgres'
import { Address, OrderIdParams } from '../shared/ids'
import { cancelOrder, changeShippingAddress, OrderNotFound, placeOrder, type Order } from './order'
import type { OrderRepository } from './order.repository'

const Money = z.number().int().positive().max(1_000_000_000)
/** The request bodies of the order's commands (exported for the fuzz suite, which generates them). */
export const PlaceOrderBody = z.object({
  items: z
    .array(z.object({ sku: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), qty: z.number().int().positive().max(10_000), unitPrice: Money }))
    .min(1)
    .max(100),
  shippingAddress: Address,
})
export const ShippingAddressBody = z.object({ shippingAddress: Address })

export interface OrderRoutesDeps {
  uow: UnitOfWork
  orders: OrderRepository
  clock: Clock
  verify: TokenVerifier
  /** What the order has heard from payment and delivery: a command with a token waits until it has. */
  waiter: ConsistencyWaiter
  /** Sets a placed order's payment deadline in the placing transaction (see `paymentDeadline`). */
  setPaymentDeadline: (tx: Queryable, order: Order) => Promise<void>
}

/** A customer's own orders: placed, canceled and readdressed by the signed-in member only. */
export function orderRoutes({ uow, orders, clock, verify, waiter, setPaymentDeadline }: OrderRoutesDeps): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  routes.use('/api/orders', requireMember(verify))
  routes.use('/api/orders/*', requireMember(verify))
  // A client that just shipped sends the shipment's token, so the order decides knowing it has shipped.
  const afterWhatIKnow = consistentCommand({ waiter })
  // A client whose request timed out sends it again with the same Idempotency-Key: one order, one answer.
  const once = idempotent(uow)

  routes.post('/api/orders', once, validBody(PlaceOrderBody), async (c) => {
    const { result, token } = await execute(uow, orders, async (tx) => {
      const placed = placeOrder({ ...c.req.valid('json'), customerId: c.get('memberId'), orderId: uuidv7(), now: clock.now() })
      await setPaymentDeadline(tx, placed.state)
      return placed
    })
    withPosition(c, token)
    return c.json(view(result), 201)
  })

  routes.post('/api/orders/:orderId/cancel', once, validParams(OrderIdParams), afterWhatIKnow, async (c) => {
    const { orderId } = c.req.valid('param')
    const { result, token } = await execute(uow, orders, async (tx) => cancelOrder(await existing(tx, orderId, c.get('memberId')), clock.now()))
    withPosition(c, token)
    return c.json(view(result))
  })

  routes.patch('/api/orders/:orderId/shipping-address', once, validParams(OrderIdParams), afterWhatIKnow, validBody(ShippingAddressBody), async (c) => {
    const { orderId } = c.req.valid('param')
    const { result, token } = await execute(uow, orders, async (tx) => changeShippingAddress(await existing(tx, orderId, c.get('memberId')), c.req.valid('json').shippingAddress, clock.now()))
    withPosition(c, token)
    return c.json(view(result))
  })

  /** Another customer's order is as good as none: its existence is not theirs to learn. */
  async function existing(tx: Queryable, orderId: string, customerId: string): Promise<Order> {
    const order = await orders.byId(tx, orderId, { lock: true })
    if (!order || order.customerId !== customerId) throw new OrderNotFound(orderId)
    return order
  }

  return routes
}

const view = (order: Order) => ({ orderId: order.orderId, customerId: order.customerId, total: order.total, status: order.status, shippingAddress: order.shippingAddress, version: order.version })
