import type { Clock, Logger } from '@tidings/core'
import { hostServices, serviceContext, type AnyService, type Host, type ServiceContext } from '@tidings/http'
import type { TokenVerifier } from '@tidings/auth'
import { identityService, type IdentityOptions } from '@tidings/identity'
import type { Database } from '@tidings/postgres'
import { deliveryService, openDeliveryProducer } from './delivery/delivery.service'
import { openOrderProducer, orderService } from './order/order.service'
import type { OrderStatusStore } from './order-status/order-status'
import { orderStatusService } from './order-status/order-status.service'
import { openPaymentProducer, paymentService } from './payment/payment.service'

export interface OrdersOptions {
  db: Database
  clock?: Clock
  logger?: Logger
  instanceId?: string
  consistencyTimeoutMs?: number
  /** `mysql://…`: keep the order-status view in MariaDB instead of the database of the services. */
  viewDatabaseUrl?: string
  /** How long a placed order waits for its payment before it fails (default two minutes). */
  paymentTimeoutMs?: number
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
  /** How long a placed order waits for its payment before it fails (default two minutes). */
  paymentTimeoutMs?: number | undefined
}

/**
 * Order, payment and delivery (each a producer, each reacting to the others' feeds) and the order-status
 * view following all three. Producers first, so that every reaction can be handed the feeds it follows.
 */
export async function ordersServices(ctx: ServiceContext, options: OrdersServicesOptions): Promise<{ services: AnyService[]; store: OrderStatusStore; close(): Promise<void> }> {
  const { verify } = options
  // Producers first, so that every reaction can be handed the feeds it follows.
  const order = await openOrderProducer(ctx)
  const payment = await openPaymentProducer(ctx)
  const delivery = await openDeliveryProducer(ctx)
  const status = await orderStatusService(ctx, { verify, orders: order.feed, payments: payment.feed, deliveries: delivery.feed, viewDatabaseUrl: options.viewDatabaseUrl })
  return {
    store: status.store,
    close: status.closeStore,
    services: [
      await orderService(ctx, order, { verify, payments: payment.feed, deliveries: delivery.feed, paymentTimeoutMs: options.paymentTimeoutMs }),
      await paymentService(ctx, payment, { verify, orders: order.feed }),
      await deliveryService(ctx, delivery, { verify, orders: order.feed, payments: payment.feed }),
      status,
    ],
  }
}
