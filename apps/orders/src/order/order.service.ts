import type { TokenVerifier } from '@tidings/auth'
import type { FeedReader } from '@tidings/core'
import { consistencyWaiter, openProducer, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import { ORDER_SOURCE } from './order.contracts'
import { orderReactions } from './order.reactions'
import { OrderRepository, orderMigrations } from './order.repository'
import { orderRoutes } from './order.routes'

export const ORDER_SCHEMA = 'orders_order'

/** The order's command side: its schema, its unit of work and its feed (opened before anyone follows it). */
export const openOrderProducer = (ctx: ServiceContext): Promise<Producer> => openProducer(ctx, ORDER_SCHEMA, ORDER_SOURCE, orderMigrations)

/** Places, cancels and readdresses a customer's orders; follows payment and delivery to move them along. */
export async function orderService(ctx: ServiceContext, producer: Producer, deps: { verify: TokenVerifier; payments: FeedReader; deliveries: FeedReader }): Promise<AnyService> {
  const orders = new OrderRepository(ORDER_SCHEMA)
  const follows = await openSubscription(ctx, ORDER_SCHEMA, orderReactions(producer.uow, orders, ctx.clock), [deps.payments, deps.deliveries])
  const waiter = consistencyWaiter([follows], { timeoutMs: ctx.consistencyTimeoutMs })
  return {
    name: ORDER_SOURCE,
    routes: orderRoutes({ uow: producer.uow, orders, clock: ctx.clock, verify: deps.verify, waiter }),
    feeds: { [ORDER_SOURCE]: producer.feed },
    subscriptions: [follows],
    producerSchemas: [ORDER_SCHEMA],
    consumerSchemas: [ORDER_SCHEMA],
  }
}
