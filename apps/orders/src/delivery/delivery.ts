import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** SHIP_REQUESTED: staff want to ship and the order has not answered yet (it may have been canceled). */
export type DeliveryStatus = 'PREPARING' | 'SHIP_REQUESTED' | 'SHIPPED' | 'DELIVERED' | 'CANCELED'

/** The delivery of one paid order. The address is null until the order's own event has arrived. */
export interface Delivery {
  orderId: string
  address: string | null
  status: DeliveryStatus
  updatedAt: string
  version: number
}

/** What delivery knows of an order from the order feed: its latest address and whether it was canceled (or failed: it will never ship). */
export interface KnownOrder {
  orderId: string
  address: string
  canceled: boolean
  version: number
}

type DeliveryChanged<T extends string> = Event<T, Delivery>
export type DeliveryCreated = DeliveryChanged<'orders.DeliveryCreated.v1'>
export type DeliveryAddressChanged = DeliveryChanged<'orders.DeliveryAddressChanged.v1'>
export type DeliveryShipRequested = DeliveryChanged<'orders.DeliveryShipRequested.v1'>
export type DeliveryShipped = DeliveryChanged<'orders.DeliveryShipped.v1'>
export type DeliveryDelivered = DeliveryChanged<'orders.DeliveryDelivered.v1'>
export type DeliveryCanceled = DeliveryChanged<'orders.DeliveryCanceled.v1'>
export type DeliveryEvent = DeliveryCreated | DeliveryAddressChanged | DeliveryShipRequested | DeliveryShipped | DeliveryDelivered | DeliveryCanceled

export class DeliveryNotFound extends TidingsError {
  constructor(orderId: string) {
    super('DELIVERY_NOT_FOUND', 'not_found', `No delivery for order ${orderId}`)
  }
}

export class OrderWasCanceled extends TidingsError {
  constructor(orderId: string) {
    super('ORDER_CANCELED', 'conflict', `Order ${orderId} was canceled; its delivery will not ship`)
  }
}

export class IllegalTransition extends TidingsError {
  constructor(orderId: string, from: DeliveryStatus, to: DeliveryStatus) {
    super('ILLEGAL_TRANSITION', 'conflict', `The delivery of order ${orderId} is ${from}; it cannot become ${to}`)
  }
}

function changed<E extends DeliveryEvent>(type: E['type'], delivery: Delivery, change: Partial<Delivery>, now: Date): Decision<Delivery, E> {
  const next: Delivery = { ...delivery, ...change, updatedAt: now.toISOString(), version: delivery.version + 1 }
  return decide(next, event<E>(type, next.orderId, next as E['data'], next.version))
}

/** A paid order gets one delivery, to the address known so far; a canceled one is created canceled. */
export function createDelivery(existing: Delivery | undefined, orderId: string, known: KnownOrder | undefined, now: Date): Decision<Delivery, DeliveryCreated> | undefined {
  if (existing) return undefined
  const delivery: Delivery = { orderId, address: known?.address ?? null, status: known?.canceled ? 'CANCELED' : 'PREPARING', updatedAt: now.toISOString(), version: 1 }
  return decide(delivery, event<DeliveryCreated>('orders.DeliveryCreated.v1', orderId, delivery, 1))
}

/** Not shipped yet: the address may still change, and a cancel still stops it. */
const UNSHIPPED: readonly DeliveryStatus[] = ['PREPARING', 'SHIP_REQUESTED']

/** The order's address reaches the delivery until it has shipped. */
export function followAddress(delivery: Delivery, address: string, now: Date): Decision<Delivery, DeliveryAddressChanged> {
  if (!UNSHIPPED.includes(delivery.status) || delivery.address === address) return decide(delivery)
  return changed<DeliveryAddressChanged>('orders.DeliveryAddressChanged.v1', delivery, { address }, now)
}

export function cancelDelivery(delivery: Delivery, now: Date): Decision<Delivery, DeliveryCanceled> {
  if (!UNSHIPPED.includes(delivery.status)) return decide(delivery)
  return changed<DeliveryCanceled>('orders.DeliveryCanceled.v1', delivery, { status: 'CANCELED' }, now)
}

/**
 * Staff want to ship: the delivery asks the order, which may refuse (it was canceled). Asking again while
 * the order has not answered changes nothing.
 */
export function requestShipping(delivery: Delivery, now: Date): Decision<Delivery, DeliveryShipRequested> {
  if (delivery.status === 'SHIP_REQUESTED') return decide(delivery)
  if (delivery.status !== 'PREPARING' || delivery.address === null) throw new IllegalTransition(delivery.orderId, delivery.status, 'SHIPPED')
  return changed<DeliveryShipRequested>('orders.DeliveryShipRequested.v1', delivery, { status: 'SHIP_REQUESTED' }, now)
}

/** The order allowed the shipment: it leaves, to the address the order had when it allowed it. */
export function shipmentReleased(delivery: Delivery, address: string, now: Date): Decision<Delivery, DeliveryShipped> {
  if (delivery.status !== 'SHIP_REQUESTED') return decide(delivery)
  return changed<DeliveryShipped>('orders.DeliveryShipped.v1', delivery, { status: 'SHIPPED', address }, now)
}

/** What the order's latest state means for its delivery: a cancel stops it, a release ships it, else the address follows. */
export function followOrder(delivery: Delivery, order: KnownOrder & { released: boolean }, now: Date): Decision<Delivery, DeliveryEvent> {
  if (order.canceled) return cancelDelivery(delivery, now)
  if (order.released) return shipmentReleased(delivery, order.address, now)
  return followAddress(delivery, order.address, now)
}

export function deliver(delivery: Delivery, now: Date): Decision<Delivery, DeliveryDelivered> {
  if (delivery.status !== 'SHIPPED') throw new IllegalTransition(delivery.orderId, delivery.status, 'DELIVERED')
  return changed<DeliveryDelivered>('orders.DeliveryDelivered.v1', delivery, { status: 'DELIVERED' }, now)
}
