import type { Clock, Envelope } from '@tidings/core'
import { reactor, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { ORDER_SOURCE, type Order } from '../order/order.contracts'
import { chargeOrder, closePayment, newCustomer } from './payment'
import type { PaymentRepository } from './payment.repository'

export const PAYMENT_REACTIONS = 'payment.reactions'

/** What payment does when it hears of an order: a placed one is charged, a closed one given back. */
const CLOSED = new Set(['orders.OrderCanceled.v1', 'orders.OrderPaymentFailed.v1'])

/**
 * Payment hears of orders, it is never called by them: a placed order is charged; a canceled one, or one
 * that failed waiting for its payment, is refunded or voided (once: the payment's status says whether there
 * is anything left to do).
 */
export function paymentReactions(uow: UnitOfWork, payments: PaymentRepository, clock: Clock) {
  return reactor(uow, {
    name: PAYMENT_REACTIONS,
    follows: [ORDER_SOURCE],
    async react(tx: CommandTx, message: Envelope) {
      if (message.type !== 'orders.OrderPlaced.v1' && !CLOSED.has(message.type)) return
      const order = message.data as Order
      const customer = (await payments.customer(tx, order.customerId, { lock: true })) ?? newCustomer(order.customerId)
      const payment = await payments.payment(tx, order.orderId, { lock: true })
      const outcome = message.type === 'orders.OrderPlaced.v1' ? chargeOrder(customer, payment, order, clock.now()) : closePayment(customer, payment, order, clock.now())
      if (!outcome) return
      if (outcome.customer !== customer) await payments.saveCustomer(tx, outcome.customer)
      await payments.savePayment(tx, outcome.payment)
      tx.record(...outcome.events)
    },
  })
}
