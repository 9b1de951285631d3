import type { TokenVerifier } from '@tidings/auth'
import type { FeedReader } from '@tidings/core'
import { consistencyWaiter, openSubscription, type AnyService, type ServiceContext } from '@tidings/http'
import { migrate } from '@tidings/postgres'
import type { OrderStatusStore } from './order-status'
import { orderStatusProjection } from './order-status.projection'
import { orderStatusRoutes } from './order-status.routes'
import { MariaDbOrderStatusStore } from './mariadb-order-status.store'
import { orderStatusMigrations, PgOrderStatusStore } from './pg-order-status.store'

export const ORDER_STATUS_SCHEMA = 'orders_status'
export const ORDER_STATUS_SERVICE = 'orders.status'

/**
 * The order-status view, following order, payment and delivery: beside the services (in their database,
 * in the consumer's transactions) or in MariaDB (`viewDatabaseUrl`). Its inbox and checkpoints live in the
 * services' database either way.
 */
export async function orderStatusService(
  ctx: ServiceContext,
  deps: { verify: TokenVerifier; orders: FeedReader; payments: FeedReader; deliveries: FeedReader; viewDatabaseUrl?: string | undefined },
): Promise<AnyService & { store: OrderStatusStore; closeStore(): Promise<void> }> {
  await migrate(ctx.db, ORDER_STATUS_SCHEMA, 'orders.status', orderStatusMigrations)
  const maria = deps.viewDatabaseUrl ? await MariaDbOrderStatusStore.open(deps.viewDatabaseUrl) : undefined
  const store: OrderStatusStore = maria ?? new PgOrderStatusStore(ctx.db, ORDER_STATUS_SCHEMA)
  const view = await openSubscription(ctx, ORDER_STATUS_SCHEMA, orderStatusProjection(store), [deps.orders, deps.payments, deps.deliveries])
  return {
    name: ORDER_STATUS_SERVICE,
    routes: orderStatusRoutes({ store, verify: deps.verify, waiter: consistencyWaiter([view], { timeoutMs: ctx.consistencyTimeoutMs }) }),
    feeds: {},
    subscriptions: [view],
    producerSchemas: [],
    consumerSchemas: [ORDER_STATUS_SCHEMA],
    store,
    /** Once its subscription has stopped: the MariaDB pool, if any. */
    closeStore: async () => maria?.close(),
  }
}
