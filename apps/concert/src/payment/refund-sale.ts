import { command, saga, step, type SagaDefinition } from '@tidings/core'
import { PAYMENT_COMMANDS as SEND, PAYMENT_REFUNDED, PAYMENT_REPLIES as REPLY } from './payment.contracts'

/** A canceled sale's refund: the payment it gives back. */
export interface SaleRefund {
  paymentId: string
  memberId: string
  reservationId: string
  amount: number
}

export const REFUND_SALE = 'concert.refund-sale'

/** The refund saga of a payment is found by the payment's id. */
export const refundIdOf = (paymentId: string): string => `refund:${paymentId}`

/**
 * Giving a canceled sale's money back. The seat is free already (the concert service canceled it), so the
 * one step cannot fail for a business reason: the wallet applies the refund once, whenever it comes. It is
 * waited for as long as a wallet could be down and its dead letters replayed (a week): a refund is never
 * undone, so there is nothing to compensate.
 */
export function refundSale(): SagaDefinition<SaleRefund> {
  return saga<SaleRefund>({
    name: REFUND_SALE,
    steps: [
      step<SaleRefund>('refund')
        .invoke((r) => command(SEND.refund, { memberId: r.memberId, paymentId: r.paymentId }, r.memberId))
        .onReply(REPLY.refundSettled)
        .nothingToUndo()
        .timeout('168h'),
    ],
    completed: (r) => command(PAYMENT_REFUNDED, { paymentId: r.paymentId, memberId: r.memberId, reservationId: r.reservationId, amount: r.amount }, r.memberId),
  })
}
