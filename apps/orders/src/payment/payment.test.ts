import { describe, expect, it } from 'vitest'
import { chargeOrder, closePayment, type Customer, type Payment } from './payment'

const now = new Date('2026-11-30T10:00:00.000Z')
const customer: Customer = { customerId: 'c1', credit: 5000, version: 3 }
const order = { orderId: 'o1', total: 3000 }

describe('payment decisions', () => {
  it('charges the total once when the credit covers it', () => {
    const charged = chargeOrder(customer, undefined, order, now)!
    expect(charged.customer).toEqual({ customerId: 'c1', credit: 2000, version: 4 })
    expect(charged.payment).toMatchObject({ orderId: 'o1', amount: 3000, status: 'PAID', version: 1 })
    expect(charged.events.map((e) => e.type)).toEqual(['orders.PaymentCompleted.v1'])
    expect(chargeOrder(charged.customer, charged.payment, order, now)).toBeUndefined()
  })

  it('fails without charging when the credit does not cover it', () => {
    const failed = chargeOrder({ ...customer, credit: 2999 }, undefined, order, now)!
    expect(failed.customer).toEqual({ ...customer, credit: 2999 })
    expect(failed.payment.status).toBe('FAILED')
    expect(failed.events.map((e) => e.type)).toEqual(['orders.PaymentFailed.v1'])
  })

  it('refunds a paid payment of a closed order exactly once, and nothing else', () => {
    const paid: Payment = { orderId: 'o1', customerId: 'c1', amount: 3000, status: 'PAID', updatedAt: now.toISOString(), version: 1 }
    const refunded = closePayment({ ...customer, credit: 2000 }, paid, order, now)!
    expect(refunded.customer.credit).toBe(5000)
    expect(refunded.payment).toMatchObject({ status: 'REFUNDED', version: 2 })
    expect(refunded.events).toEqual([expect.objectContaining({ type: 'orders.PaymentRefunded.v1', key: 'o1', version: 2 })])
    expect(closePayment(refunded.customer, refunded.payment, order, now)).toBeUndefined()
    expect(closePayment(customer, { ...paid, status: 'FAILED' }, order, now)).toBeUndefined()
  })

  it('voids a closed order not charged yet, so that its placing, arriving late, charges nothing', () => {
    const voided = closePayment(customer, undefined, order, now)!
    expect(voided.customer).toBe(customer)
    expect(voided.payment).toMatchObject({ orderId: 'o1', status: 'VOIDED', version: 1 })
    expect(voided.events.map((e) => e.type)).toEqual(['orders.PaymentVoided.v1'])
    expect(chargeOrder(customer, voided.payment, order, now)).toBeUndefined()
    expect(closePayment(customer, voided.payment, order, now)).toBeUndefined()
  })
})
