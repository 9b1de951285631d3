/** What other services may know of the payment service: its feed and its events (full payment state). */
export const PAYMENT_SOURCE = 'orders.payment'
export type { Payment, PaymentCompleted, PaymentEvent, PaymentFailed, PaymentRefunded, PaymentStatus } from './payment'
