import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

export type OrderStatus = 'PLACED' | 'PAID' | 'SHIPPED' | 'DELIVERED' | 'CANCELED' | 'PAYMENT_FAILED'

export interface OrderItem {
  sku: string
  qty: number
  /** In the smallest currency unit (e.g. cents), so totals add up exactly. */
  unitPrice: number
}

/** An order on the command side. Pure: ids and time come in from the edge. */
export interface Order {
  orderId: string
  customerId: string
  items: OrderItem[]
  total: number
  shippingAddress: string
  status: OrderStatus
  placedAt: string
  updatedAt: string
  version: number
}

/** Every order event carries the order's full state after the change (not zero-payload). */
type OrderChanged<T extends string> = Event<T, Order>
export type OrderPlaced = OrderChanged<'orders.OrderPlaced.v1'>
export type OrderPaid = OrderChanged<'orders.OrderPaid.v1'>
export type OrderPaymentFailed = OrderChanged<'orders.OrderPaymentFailed.v1'>
export type OrderShipped = OrderChanged<'orders.OrderShipped.v1'>
export type OrderDelivered = OrderChanged<'orders.OrderDelivered.v1'>
export type OrderCanceled = OrderChanged<'orders.OrderCanceled.v1'>
export type ShippingAddressChanged = OrderChanged<'orders.ShippingAddressChanged.v1'>
export type OrderEvent = OrderPlaced | OrderPaid | OrderPaymentFailed | OrderShipped | OrderDelivered | OrderCanceled | ShippingAddressChanged

export class OrderNotFound extends TidingsError {
  constructor(orderId: string) {
    super('ORDER_NOT_FOUND', 'not_found', `No order ${orderId}`)
  }
}

export class OrderAlreadyShipped extends TidingsError {
  constructor(orderId: string) {
    super('ORDER_ALREADY_SHIPPED', 'conflict', `Order ${orderId} has shipped`)
  }
}

export class OrderClosed extends TidingsError {
  constructor(orderId: string, status: OrderStatus) {
    super('ORDER_CLOSED', 'conflict', `Order ${orderId} is ${status}`)
  }
}

function changed<E extends OrderEvent>(type: E['type'], order: Order, change: Partial<Order>, now: Date): Decision<Order, E> {
  const next: Order = { ...order, ...change, updatedAt: now.toISOString(), version: order.version + 1 }
  return decide(next, event<E>(type, next.orderId, next as E['data'], next.version))
}

export function placeOrder(input: { orderId: string; customerId: string; items: OrderItem[]; shippingAddress: string; now: Date }): Decision<Order, OrderPlaced> {
  const total = input.items.reduce((sum, item) => sum + item.qty * item.unitPrice, 0)
  const at = input.now.toISOString()
  const order: Order = { orderId: input.orderId, customerId: input.customerId, items: input.items, total, shippingAddress: input.shippingAddress, status: 'PLACED', placedAt: at, updatedAt: at, version: 1 }
  return decide(order, event<OrderPlaced>('orders.OrderPlaced.v1', order.orderId, order, 1))
}

const BEFORE_SHIPPING: readonly OrderStatus[] = ['PLACED', 'PAID']

/** Before shipping only; canceling twice changes nothing. The refund is payment's business (it hears the event). */
export function cancelOrder(order: Order, now: Date): Decision<Order, OrderCanceled> {
  if (order.status === 'CANCELED') return decide(order)
  mustNotHaveShipped(order)
  return changed<OrderCanceled>('orders.OrderCanceled.v1', order, { status: 'CANCELED' }, now)
}

export function changeShippingAddress(order: Order, shippingAddress: string, now: Date): Decision<Order, ShippingAddressChanged> {
  mustNotHaveShipped(order)
  if (order.shippingAddress === shippingAddress) return decide(order)
  return changed<ShippingAddressChanged>('orders.ShippingAddressChanged.v1', order, { shippingAddress }, now)
}

function mustNotHaveShipped(order: Order): void {
  if (order.status === 'SHIPPED' || order.status === 'DELIVERED') throw new OrderAlreadyShipped(order.orderId)
  if (!BEFORE_SHIPPING.includes(order.status)) throw new OrderClosed(order.orderId, order.status)
}

/**
 * What payment and delivery report moves the order along; a report that no longer applies (the order was
 * canceled meanwhile, or it is a repeat) changes nothing.
 */
export function paymentCompleted(order: Order, now: Date): Decision<Order, OrderPaid> {
  return order.status === 'PLACED' ? changed<OrderPaid>('orders.OrderPaid.v1', order, { status: 'PAID' }, now) : decide(order)
}

export function paymentFailed(order: Order, now: Date): Decision<Order, OrderPaymentFailed> {
  return order.status === 'PLACED' ? changed<OrderPaymentFailed>('orders.OrderPaymentFailed.v1', order, { status: 'PAYMENT_FAILED' }, now) : decide(order)
}

/**
 * Delivery asks before it ships and the order decides: the one place where a cancel and a shipment meet,
 * under the order's lock, so both can never succeed. An order still open ships (a delivery exists only for
 * a completed payment, so one the order has not heard of yet counts as paid); a canceled or closed one does
 * not, and the delivery learns why from the order's own events.
 */
export function releaseForShipping(order: Order, now: Date): Decision<Order, OrderShipped> {
  return BEFORE_SHIPPING.includes(order.status) ? changed<OrderShipped>('orders.OrderShipped.v1', order, { status: 'SHIPPED' }, now) : decide(order)
}

export function delivered(order: Order, now: Date): Decision<Order, OrderDelivered> {
  return order.status === 'SHIPPED' ? changed<OrderDelivered>('orders.OrderDelivered.v1', order, { status: 'DELIVERED' }, now) : decide(order)
}
