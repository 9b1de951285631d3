import type { Dispatcher, Envelope, Event } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import type { CreditAdded, PaymentCompleted, PaymentRefunded } from './payment'
import type { PaymentRepository } from './payment.repository'

type Stamped<E extends Event> = Envelope<E['type'], E['data']>

/**
 * Every credit movement gets its ledger row in the same transaction as the movement itself: in-transaction
 * handlers of the payment service's own events, so a charge without its row (or the reverse) cannot commit.
 */
export function paymentLedger(dispatcher: Dispatcher<Queryable>, payments: PaymentRepository): Dispatcher<Queryable> {
  return dispatcher
    .inTransaction<Stamped<CreditAdded>>('orders.CreditAdded.v1', (tx, e) =>
      payments.book(tx, { eventId: e.id, customerId: e.data.customerId, orderId: null, kind: 'CREDIT', amount: e.data.amount, at: e.occurredAt }),
    )
    .inTransaction<Stamped<PaymentCompleted>>('orders.PaymentCompleted.v1', (tx, e) =>
      payments.book(tx, { eventId: e.id, customerId: e.data.customerId, orderId: e.data.orderId, kind: 'CHARGE', amount: -e.data.amount, at: e.occurredAt }),
    )
    .inTransaction<Stamped<PaymentRefunded>>('orders.PaymentRefunded.v1', (tx, e) =>
      payments.book(tx, { eventId: e.id, customerId: e.data.customerId, orderId: e.data.orderId, kind: 'REFUND', amount: e.data.amount, at: e.occurredAt }),
    )
}
