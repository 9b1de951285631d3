import type { FeedReader } from '@tidings/core'
import type { TokenVerifier } from '@tidings/auth'
import { consistencyWaiter, openProducer, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import { DELIVERY_SOURCE } from './delivery.contracts'
import { deliveryReactions } from './delivery.reactions'
import { DeliveryRepository, deliveryMigrations } from './delivery.repository'
import { deliveryRoutes } from './delivery.routes'

export const DELIVERY_SCHEMA = 'orders_delivery'

export const openDeliveryProducer = (ctx: ServiceContext): Promise<Producer> => openProducer(ctx, DELIVERY_SCHEMA, DELIVERY_SOURCE, deliveryMigrations)

/** A paid order's delivery: follows order (address, cancel) and payment (a completed payment creates it); staff ship and deliver. */
export async function deliveryService(ctx: ServiceContext, producer: Producer, deps: { verify: TokenVerifier; orders: FeedReader; payments: FeedReader }): Promise<AnyService> {
  const deliveries = new DeliveryRepository(DELIVERY_SCHEMA)
  const follows = await openSubscription(ctx, DELIVERY_SCHEMA, deliveryReactions(producer.uow, deliveries, ctx.clock), [deps.orders, deps.payments])
  const waiter = consistencyWaiter([follows], { timeoutMs: ctx.consistencyTimeoutMs })
  return {
    name: DELIVERY_SOURCE,
    routes: deliveryRoutes({ db: ctx.db, uow: producer.uow, deliveries, clock: ctx.clock, waiter, verify: deps.verify, follows }),
    feeds: { [DELIVERY_SOURCE]: producer.feed },
    subscriptions: [follows],
    producerSchemas: [DELIVERY_SCHEMA],
    consumerSchemas: [DELIVERY_SCHEMA],
  }
}
