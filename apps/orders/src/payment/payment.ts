import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** A customer's credit, in the smallest currency unit. */
export interface Customer {
  customerId: string
  credit: number
  version: number
}

/** VOIDED: the order closed (canceled, or failed waiting) before it was charged, so it never will be. */
export type PaymentStatus = 'PAID' | 'FAILED' | 'REFUNDED' | 'VOIDED'

/** The payment of one order: at most one per order, so a repeated OrderPlaced charges nothing twice. */
export interface Payment {
  orderId: string
  customerId: string
  amount: number
  status: PaymentStatus
  updatedAt: string
  version: number
}

/** Every payment event carries the payment's full state after the change. */
export type PaymentCompleted = Event<'orders.PaymentCompleted.v1', Payment>
export type PaymentFailed = Event<'orders.PaymentFailed.v1', Payment>
export type PaymentRefunded = Event<'orders.PaymentRefunded.v1', Payment>
export type PaymentVoided = Event<'orders.PaymentVoided.v1', Payment>
export type CreditAdded = Event<'orders.CreditAdded.v1', Customer & { amount: number }>
export type PaymentEvent = PaymentCompleted | PaymentFailed | PaymentRefunded | PaymentVoided | CreditAdded

export class CustomerNotFound extends TidingsError {
  constructor(customerId: string) {
    super('CUSTOMER_NOT_FOUND', 'not_found', `No customer ${customerId}`)
  }
}

export const newCustomer = (customerId: string): Customer => ({ customerId, credit: 0, version: 0 })

export function addCredit(customer: Customer, amount: number): Decision<Customer, CreditAdded> {
  const next = { ...customer, credit: customer.credit + amount, version: customer.version + 1 }
  return decide(next, event<CreditAdded>('orders.CreditAdded.v1', next.customerId, { ...next, amount }, next.version))
}

export interface Charged {
  customer: Customer
  payment: Payment
  events: Array<PaymentCompleted | PaymentFailed>
}

/**
 * Charges an order's total once: enough credit → the credit goes down and the payment is PAID; not enough
 * → the payment is FAILED and nothing is charged. An order that already has a payment changes nothing.
 */
export function chargeOrder(customer: Customer, existing: Payment | undefined, order: { orderId: string; total: number }, now: Date): Charged | undefined {
  if (existing) return undefined
  const paid = customer.credit >= order.total
  const payment: Payment = { orderId: order.orderId, customerId: customer.customerId, amount: order.total, status: paid ? 'PAID' : 'FAILED', updatedAt: now.toISOString(), version: 1 }
  if (!paid) return { customer, payment, events: [event<PaymentFailed>('orders.PaymentFailed.v1', payment.orderId, payment, 1)] }
  const charged = { ...customer, credit: customer.credit - order.total, version: customer.version + 1 }
  return { customer: charged, payment, events: [event<PaymentCompleted>('orders.PaymentCompleted.v1', payment.orderId, payment, 1)] }
}

/**
 * The order closed (canceled, or failed waiting for its payment): a PAID payment is given back, exactly once;
 * an order not charged yet is voided, so that its placing, should it come late (a dead-lettered reaction
 * replayed), charges nothing; a failed, refunded or voided payment has nothing left to do.
 */
export function closePayment(
  customer: Customer,
  payment: Payment | undefined,
  order: { orderId: string; total: number },
  now: Date,
): { customer: Customer; payment: Payment; events: Array<PaymentRefunded | PaymentVoided> } | undefined {
  if (!payment) {
    const voided: Payment = { orderId: order.orderId, customerId: customer.customerId, amount: order.total, status: 'VOIDED', updatedAt: now.toISOString(), version: 1 }
    return { customer, payment: voided, events: [event<PaymentVoided>('orders.PaymentVoided.v1', voided.orderId, voided, 1)] }
  }
  if (payment.status !== 'PAID') return undefined
  const refunded: Payment = { ...payment, status: 'REFUNDED', updatedAt: now.toISOString(), version: payment.version + 1 }
  return {
    customer: { ...customer, credit: customer.credit + payment.amount, version: customer.version + 1 },
    payment: refunded,
    events: [event<PaymentRefunded>('orders.PaymentRefunded.v1', refunded.orderId, refunded, refunded.version)],
  }
}
