import type { Clock, Decision, Envelope } from '@tidings/core'
import { reactor, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { DELIVERY_SOURCE, type Delivery } from '../delivery/delivery.contracts'
import { PAYMENT_SOURCE, type Payment } from '../payment/payment.contracts'
import { delivered, paymentCompleted, paymentFailed, releaseForShipping, type Order, type OrderEvent } from './order'
import type { OrderRepository } from './order.repository'

export const ORDER_REACTIONS = 'order.reactions'

const REACTIONS: Partial<Record<string, (order: Order, now: Date) => Decision<Order, OrderEvent>>> = {
  'orders.PaymentCompleted.v1': paymentCompleted,
  'orders.PaymentFailed.v1': paymentFailed,
  'orders.DeliveryShipRequested.v1': releaseForShipping,
  'orders.DeliveryDelivered.v1': delivered,
}

/** The order follows what payment and delivery report: PAID or PAYMENT_FAILED, then (when it allows a shipment) SHIPPED, and DELIVERED. */
export function orderReactions(uow: UnitOfWork, orders: OrderRepository, clock: Clock) {
  return reactor(uow, {
    name: ORDER_REACTIONS,
    follows: [PAYMENT_SOURCE, DELIVERY_SOURCE],
    async react(tx: CommandTx, message: Envelope) {
      const decision = REACTIONS[message.type]
      if (!decision) return
      const { orderId } = message.data as Payment | Delivery
      const order = await orders.byId(tx, orderId, { lock: true })
      if (!order) return
      const { state, events } = decision(order, clock.now())
      if (events.length === 0) return
      await orders.save(tx, state)
      tx.record(...events)
    },
  })
}
