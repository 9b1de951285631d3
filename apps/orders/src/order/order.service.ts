import type { TokenVerifier } from '@tidings/auth'
import type { FeedReader } from '@tidings/core'
import { consistencyWaiter, openProducer, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import { Scheduler } from '@tidings/postgres'
import { ORDER_SOURCE } from './order.contracts'
import { orderReactions } from './order.reactions'
import { OrderRepository, orderMigrations } from './order.repository'
import { orderRoutes } from './order.routes'
import { PAYMENT_OVERDUE, paymentDeadline, paymentOverdue } from './payment-timeout'

export const ORDER_SCHEMA = 'orders_order'

/** The order's command side: its schema, its unit of work and its feed (opened before anyone follows it). */
export const openOrderProducer = (ctx: ServiceContext): Promise<Producer> => openProducer(ctx, ORDER_SCHEMA, ORDER_SOURCE, orderMigrations)

export interface OrderServiceDeps {
  verify: TokenVerifier
  payments: FeedReader
  deliveries: FeedReader
  /** How long a placed order waits for its payment before it fails (see `paymentTimeoutOf`). */
  paymentTimeoutMs?: number | undefined
}

/**
 * Places, cancels and readdresses a customer's orders; follows payment and delivery to move them along, and
 * fails an order whose payment does not come in time.
 */
export async function orderService(ctx: ServiceContext, producer: Producer, deps: OrderServiceDeps): Promise<AnyService> {
  const orders = new OrderRepository(ORDER_SCHEMA)
  const follows = await openSubscription(ctx, ORDER_SCHEMA, orderReactions(producer.uow, orders, ctx.clock), [deps.payments, deps.deliveries])
  const waiter = consistencyWaiter([follows], { timeoutMs: ctx.consistencyTimeoutMs })
  const timeouts = new Scheduler({
    db: ctx.db,
    schema: ORDER_SCHEMA,
    uow: producer.uow,
    clock: ctx.clock,
    logger: ctx.logger,
    handlers: { [PAYMENT_OVERDUE]: paymentOverdue(orders, ctx.clock, ctx.alerts) },
  })
  return {
    name: ORDER_SOURCE,
    routes: orderRoutes({ uow: producer.uow, orders, clock: ctx.clock, verify: deps.verify, waiter, setPaymentDeadline: paymentDeadline(ORDER_SCHEMA, deps.paymentTimeoutMs) }),
    feeds: { [ORDER_SOURCE]: producer.feed },
    subscriptions: [follows],
    workers: [timeouts],
    producerSchemas: [ORDER_SCHEMA],
    consumerSchemas: [ORDER_SCHEMA],
  }
}
