import { Dispatcher, type Clock, type Logger } from '@tidings/core'
import { consistencyWaiter, hostServices, openProducer, openSubscription, serviceContext, type AnyService, type Host, type Service, type ServiceContext } from '@tidings/http'
import type { TokenVerifier } from '@tidings/auth'
import { identityService, type IdentityOptions } from '@tidings/identity'
import { migrate, type Database, type Queryable } from '@tidings/postgres'
import { DELIVERY_SOURCE } from './delivery/delivery.contracts'
import { deliveryReactions } from './delivery/delivery.reactions'
import { DeliveryRepository, deliveryMigrations } from './delivery/delivery.repository'
import { deliveryRoutes } from './delivery/delivery.routes'
import { ORDER_SOURCE } from './order/order.contracts'
import { orderReactions } from './order/order.reactions'
import { OrderRepository, orderMigrations } from './order/order.repository'
import { orderRoutes } from './order/order.routes'
import type { OrderStatusStore } from './order-status/order-status'
import { orderStatusProjection } from './order-status/order-status.projection'
import { orderStatusRoutes } from './order-status/order-status.routes'
import { MariaDbOrderStatusStore } from './order-status/mariadb-order-status.store'
import { orderStatusMigrations, PgOrderStatusStore } from './order-status/pg-order-status.store'
import { PAYMENT_SOURCE } from './payment/payment.contracts'
import { paymentLedger } from './payment/payment-ledger'
import { PaymentRepository, paymentMigrations } from './payment/payment.repository'
import { paymentReactions } from './payment/payment.reactions'
import { paymentRoutes } from './payment/payment.routes'

export const ORDER_SCHEMA = 'orders_order'
export const PAYMENT_SCHEMA = 'orders_payment'
export const DELIVERY_SCHEMA = 'orders_delivery'
export const ORDER_STATUS_SCHEMA = 'orders_status'

export interface OrdersOptions {
  db: Database
  clock?: Clock
  logger?: Logger
  instanceId?: string
  consistencyTimeoutMs?: number
  /** `mysql://…`: keep the order-status view in MariaDB instead of the database of the services. */
  viewDatabaseUrl?: string
  identity?: IdentityOptions
}

export type Orders = Host & { services: AnyService[]; store: OrderStatusStore }

/**
 * Orders on its own in one process, beside the identity service its customers sign up and log in with
 * (tests; `npm start` hosts it beside the board with `ordersServices`).
 */
export async function composeOrders(options: OrdersOptions): Promise<Orders> {
  const ctx = serviceContext(options)
  const identity = await identityService(ctx, options.identity)
  const { services, store, close } = await ordersServices(ctx, { ...options, verify: identity.verifier })
  const host = hostServices(ctx, [identity, ...services])
  return {
    ...host,
    services: [identity, ...services],
    store,
    async stop() {
      await host.stop()
      await close()
    },
  }
}

export interface OrdersServicesOptions {
  /** Checks the tokens of the identity service: customers are members. */
  verify: TokenVerifier
  viewDatabaseUrl?: string | undefined
}

/**
 * Order, payment and delivery (each a producer, each reacting to the others' feeds) and the order-status
 * view following all three. Producers first, so that every reaction can be handed the feeds it follows.
 */
export async function ordersServices(ctx: ServiceContext, options: OrdersServicesOptions): Promise<{ services: AnyService[]; store: OrderStatusStore; close(): Promise<void> }> {
  const { verify } = options
  const { db, clock } = ctx
  const waitAtMost = { timeoutMs: ctx.consistencyTimeoutMs }
  const payments = new PaymentRepository(PAYMENT_SCHEMA)
  const order = await openProducer(ctx, ORDER_SCHEMA, ORDER_SOURCE, orderMigrations)
  const payment = await openProducer(ctx, PAYMENT_SCHEMA, PAYMENT_SOURCE, paymentMigrations, { dispatcher: paymentLedger(new Dispatcher<Queryable>(), payments) })
  const delivery = await openProducer(ctx, DELIVERY_SCHEMA, DELIVERY_SOURCE, deliveryMigrations)

  const orders = new OrderRepository(ORDER_SCHEMA)
  const deliveries = new DeliveryRepository(DELIVERY_SCHEMA)
  const orderFollows = await openSubscription(ctx, ORDER_SCHEMA, orderReactions(order.uow, orders, clock), [payment.feed, delivery.feed])
  const paymentFollows = await openSubscription(ctx, PAYMENT_SCHEMA, paymentReactions(payment.uow, payments, clock), [order.feed])
  const deliveryFollows = await openSubscription(ctx, DELIVERY_SCHEMA, deliveryReactions(delivery.uow, deliveries, clock), [order.feed, payment.feed])

  // The view consumer's inbox and checkpoints live in the services' database either way.
  await migrate(db, ORDER_STATUS_SCHEMA, 'orders.status', orderStatusMigrations)
  const maria = options.viewDatabaseUrl ? await MariaDbOrderStatusStore.open(options.viewDatabaseUrl) : undefined
  const store: OrderStatusStore = maria ?? new PgOrderStatusStore(db, ORDER_STATUS_SCHEMA)
  const view = await openSubscription(ctx, ORDER_STATUS_SCHEMA, orderStatusProjection(store), [order.feed, payment.feed, delivery.feed])

  const service = (name: string, schema: string, routes: AnyService['routes'], feeds: Service['feeds'], subscription: Service['subscriptions'][number], producer = true): AnyService => ({
    name,
    routes,
    feeds,
    subscriptions: [subscription],
    producerSchemas: producer ? [schema] : [],
    consumerSchemas: [schema],
  })
  return {
    store,
    close: async () => maria?.close(),
    services: [
      service(ORDER_SOURCE, ORDER_SCHEMA, orderRoutes({ uow: order.uow, orders, clock, verify, waiter: consistencyWaiter([orderFollows], waitAtMost) }), { [ORDER_SOURCE]: order.feed }, orderFollows),
      service(PAYMENT_SOURCE, PAYMENT_SCHEMA, paymentRoutes({ db, uow: payment.uow, payments, verify }), { [PAYMENT_SOURCE]: payment.feed }, paymentFollows),
      service(DELIVERY_SOURCE, DELIVERY_SCHEMA, deliveryRoutes({ uow: delivery.uow, deliveries, clock, waiter: consistencyWaiter([deliveryFollows], waitAtMost) }), { [DELIVERY_SOURCE]: delivery.feed }, deliveryFollows),
      service('orders.status', ORDER_STATUS_SCHEMA, orderStatusRoutes({ store, verify, waiter: consistencyWaiter([view], waitAtMost) }), {}, view, false),
    ],
  }
}
