import type { Clock, Envelope } from '@tidings/core'
import { reactor, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { ORDER_SOURCE, type Order } from '../order/order.contracts'
import { chargeOrder, newCustomer, refundPayment } from './payment'
import type { PaymentRepository } from './payment.repository'

export const PAYMENT_REACTIONS = 'payment.reactions'

/**
 * Payment hears of orders, it is never called by them: a placed order is charged, a canceled one refunded
 * (once: the payment's status says whether there is anything left to give back).
 */
export function paymentReactions(uow: UnitOfWork, payments: PaymentRepository, clock: Clock) {
  return reactor(uow, {
    name: PAYMENT_REACTIONS,
    follows: [ORDER_SOURCE],
    async react(tx: CommandTx, message: Envelope) {
      if (message.type !== 'orders.OrderPlaced.v1' && message.type !== 'orders.OrderCanceled.v1') return
      const order = message.data as Order
      const customer = (await payments.customer(tx, order.customerId, { lock: true })) ?? newCustomer(order.customerId)
      const payment = await payments.payment(tx, order.orderId, { lock: true })
      const outcome = message.type === 'orders.OrderPlaced.v1' ? chargeOrder(customer, payment, order, clock.now()) : refundPayment(customer, payment, clock.now())
      if (!outcome) return
      if (outcome.customer !== customer) await payments.saveCustomer(tx, outcome.customer)
      await payments.savePayment(tx, outcome.payment)
      tx.record(...outcome.events)
    },
  })
}
