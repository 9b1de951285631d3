import type { Clock, Envelope } from '@tidings/core'
import { reactor, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { ORDER_SOURCE, type Order, type OrderStatus } from '../order/order.contracts'
import { PAYMENT_SOURCE, type Payment } from '../payment/payment.contracts'
import { createDelivery, followOrder } from './delivery'
import type { DeliveryRepository } from './delivery.repository'

export const DELIVERY_REACTIONS = 'delivery.reactions'

/** Orders that will never ship: canceled, or failed waiting for their payment. */
const CLOSED: readonly OrderStatus[] = ['CANCELED', 'PAYMENT_FAILED']

/**
 * A completed payment creates the delivery. Order events (full state, any order of arrival against the
 * payment feed) keep delivery's knowledge of the order current: its address follows until shipping, a
 * cancel stops a delivery that has not shipped, and the order's release of a requested shipment ships it.
 */
export function deliveryReactions(uow: UnitOfWork, deliveries: DeliveryRepository, clock: Clock) {
  return reactor(uow, {
    name: DELIVERY_REACTIONS,
    follows: [ORDER_SOURCE, PAYMENT_SOURCE],
    async react(tx: CommandTx, message: Envelope) {
      if (message.source === ORDER_SOURCE) {
        const order = message.data as Order
        const known = { orderId: order.orderId, address: order.shippingAddress, canceled: CLOSED.includes(order.status), version: order.version }
        if (!(await deliveries.learn(tx, known))) return
        const delivery = await deliveries.byOrder(tx, order.orderId, { lock: true })
        if (!delivery) return
        const { state, events } = followOrder(delivery, { ...known, released: order.status === 'SHIPPED' }, clock.now())
        if (events.length === 0) return
        await deliveries.save(tx, state)
        tx.record(...events)
      } else if (message.type === 'orders.PaymentCompleted.v1') {
        const { orderId } = message.data as Payment
        const decision = createDelivery(await deliveries.byOrder(tx, orderId, { lock: true }), orderId, await deliveries.knownOrder(tx, orderId), clock.now())
        if (!decision) return
        await deliveries.save(tx, decision.state)
        tx.record(...decision.events)
      }
    },
  })
}
