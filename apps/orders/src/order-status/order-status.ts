import type { Envelope } from '@tidings/core'
import type { DeliveryStatus } from '../delivery/delivery.contracts'
import type { Order, OrderStatus } from '../order/order.contracts'
import type { PaymentStatus } from '../payment/payment.contracts'

/** One row per order, assembled from three sources; reads come only from here. */
export interface OrderStatusView {
  orderId: string
  customerId: string | null
  total: number | null
  orderStatus: OrderStatus | null
  paymentStatus: PaymentStatus | null
  deliveryStatus: DeliveryStatus | null
  shippingAddress: string | null
  updatedAt: string
}

/**
 * What one event changes in the view: only its own source's columns, applied only when its version is
 * newer than the one that source last wrote, so concurrent sources never collide and nothing reverts.
 */
export type OrderStatusChange =
  | { source: 'order'; orderId: string; version: number; at: string; set: { customerId: string; total: number; orderStatus: OrderStatus; shippingAddress: string } }
  | { source: 'payment'; orderId: string; version: number; at: string; set: { paymentStatus: PaymentStatus } }
  | { source: 'delivery'; orderId: string; version: number; at: string; set: { deliveryStatus: DeliveryStatus } }

/** The columns each source owns in a store's table, and the version column that guards them. */
export const OWNED_COLUMNS = {
  order: { version: 'order_version', columns: ['customer_id', 'total', 'order_status', 'shipping_address'] },
  payment: { version: 'payment_version', columns: ['payment_status'] },
  delivery: { version: 'delivery_version', columns: ['delivery_status'] },
} as const

/** A change's values, in the order of its source's `OWNED_COLUMNS`. */
export function ownedValues(change: OrderStatusChange): unknown[] {
  switch (change.source) {
    case 'order':
      return [change.set.customerId, change.set.total, change.set.orderStatus, change.set.shippingAddress]
    case 'payment':
      return [change.set.paymentStatus]
    case 'delivery':
      return [change.set.deliveryStatus]
  }
}

/** The change an event makes, or undefined for events the view does not show (e.g. credit added). Pure. */
export function changeOf(message: Envelope): OrderStatusChange | undefined {
  const at = message.occurredAt
  if (message.source === 'orders.order') {
    const o = message.data as Order
    return { source: 'order', orderId: o.orderId, version: o.version, at, set: { customerId: o.customerId, total: o.total, orderStatus: o.status, shippingAddress: o.shippingAddress } }
  }
  if (message.source === 'orders.payment' && message.type !== 'orders.CreditAdded.v1') {
    const p = message.data as { orderId: string; version: number; status: PaymentStatus }
    return { source: 'payment', orderId: p.orderId, version: p.version, at, set: { paymentStatus: p.status } }
  }
  if (message.source === 'orders.delivery') {
    const d = message.data as { orderId: string; version: number; status: DeliveryStatus }
    return { source: 'delivery', orderId: d.orderId, version: d.version, at, set: { deliveryStatus: d.status } }
  }
  return undefined
}

/**
 * Of several changes, the newest per order and source: applying only those has the same effect as applying
 * all in turn (each is guarded by its version), and one statement may not touch a row twice.
 */
export function newestPerOrderAndSource(changes: readonly OrderStatusChange[]): OrderStatusChange[] {
  const newest = new Map<string, OrderStatusChange>()
  for (const change of changes) {
    const key = `${change.source}:${change.orderId}`
    const seen = newest.get(key)
    if (!seen || seen.version < change.version) newest.set(key, change)
  }
  return [...newest.values()]
}

/**
 * The consumer's transaction (its inbox rows and checkpoint), as the view's store sees it: a store in the
 * consumer's database writes in it, so the view changes exactly once with them; a store elsewhere cannot.
 */
export interface ConsumerTransaction {
  query(sql: string, params?: readonly unknown[]): Promise<unknown>
}

/** The view's store: PostgreSQL/PGlite (in the consumer's transaction) or MariaDB. */
export interface OrderStatusStore {
  /** Applies the changes, each under its source's version guard. */
  apply(tx: ConsumerTransaction, changes: readonly OrderStatusChange[]): Promise<void>
  get(orderId: string): Promise<OrderStatusView | undefined>
  byCustomer(customerId: string, limit?: number): Promise<OrderStatusView[]>
  /** Empties the view before a rebuild. */
  clear(tx: ConsumerTransaction): Promise<void>
}
