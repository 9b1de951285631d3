import { followedFeed, type ServiceOpeners } from '@tidings/http'
import { remoteIdentity } from '@tidings/identity'
import { DELIVERY_SOURCE } from './delivery/delivery.contracts'
import { deliveryService, openDeliveryProducer } from './delivery/delivery.service'
import { ORDER_SOURCE } from './order/order.contracts'
import { openOrderProducer, orderService } from './order/order.service'
import { paymentTimeoutOf } from './order/payment-timeout'
import { ORDER_STATUS_SERVICE, orderStatusService } from './order-status/order-status.service'
import { PAYMENT_SOURCE } from './payment/payment.contracts'
import { openPaymentProducer, paymentService } from './payment/payment.service'

/** Where an orders service running alone, without a broker, reads the others' feeds: e.g. `ORDERS_PAYMENT_URL=http://127.0.0.1:3012`. */
export const ORDERS_ORDER_URL = 'ORDERS_ORDER_URL'
export const ORDERS_PAYMENT_URL = 'ORDERS_PAYMENT_URL'
export const ORDERS_DELIVERY_URL = 'ORDERS_DELIVERY_URL'

/**
 * Orders' services, each as a process of its own: customers' tokens are checked with the identity
 * service's public keys (`IDENTITY_URL`); the feeds they follow come through the broker when the process
 * has one, else over HTTP (`ORDERS_*_URL`). Full-state events: nothing is fetched from the other services.
 * The view keeps its rows in MariaDB with `VIEW_DATABASE_URL`.
 */
export const ordersProcesses: ServiceOpeners = {
  [ORDER_SOURCE]: async (ctx, env) =>
    orderService(ctx, await openOrderProducer(ctx), {
      verify: remoteIdentity(ctx, env).verify,
      payments: followedFeed(ctx, env, PAYMENT_SOURCE, ORDERS_PAYMENT_URL),
      deliveries: followedFeed(ctx, env, DELIVERY_SOURCE, ORDERS_DELIVERY_URL),
      paymentTimeoutMs: paymentTimeoutOf(env),
    }),
  [PAYMENT_SOURCE]: async (ctx, env) =>
    paymentService(ctx, await openPaymentProducer(ctx), { verify: remoteIdentity(ctx, env).verify, orders: followedFeed(ctx, env, ORDER_SOURCE, ORDERS_ORDER_URL) }),
  [DELIVERY_SOURCE]: async (ctx, env) =>
    deliveryService(ctx, await openDeliveryProducer(ctx), {
      verify: remoteIdentity(ctx, env).verify,
      orders: followedFeed(ctx, env, ORDER_SOURCE, ORDERS_ORDER_URL),
      payments: followedFeed(ctx, env, PAYMENT_SOURCE, ORDERS_PAYMENT_URL),
    }),
  [ORDER_STATUS_SERVICE]: (ctx, env) =>
    orderStatusService(ctx, {
      verify: remoteIdentity(ctx, env).verify,
      orders: followedFeed(ctx, env, ORDER_SOURCE, ORDERS_ORDER_URL),
      payments: followedFeed(ctx, env, PAYMENT_SOURCE, ORDERS_PAYMENT_URL),
      deliveries: followedFeed(ctx, env, DELIVERY_SOURCE, ORDERS_DELIVERY_URL),
      viewDatabaseUrl: env.VIEW_DATABASE_URL || undefined,
    }),
}
