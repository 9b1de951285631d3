import { command, fail, saga, step, type Duration, type Envelope, type SagaDefinition } from '@tidings/core'
import { PAYMENT_COMMANDS as SEND, PAYMENT_COMPLETED, PAYMENT_FAILED, PAYMENT_REPLIES as REPLY, type PaymentCompleted } from './payment.contracts'

/** A payment for one held seat, as the saga carries it from step to step. */
export interface SeatPayment {
  paymentId: string
  memberId: string
  concertId: string
  reservationId: string
  /** The held seat's price, read from the reservation: never what a client said. */
  amount: number
  /** The wallet's balance once it took the amount (its reply). */
  balanceAfter?: number
  /** What the wallet gave back when the payment was undone: 0 when it had taken nothing (the wallet's ledger says, whatever replies were missed). */
  refunded?: number
}

export const PAY_FOR_SEAT = 'concert.pay-for-seat'

const reasonOf = (reply: Envelope): string => (reply.data as { reason: string }).reason

/**
 * Paying for a held seat: take the price from the wallet, then confirm the reservation; when the
 * confirmation is refused (the hold expired, or is not the payer's any more) the wallet gives the money
 * back. Each step and each refund is a command through the payment feed, applied once by its participant.
 */
export function payForSeat(timing: { stepTimeout?: Duration; compensationTimeout?: Duration } = {}): SagaDefinition<SeatPayment> {
  const stepTimeout = timing.stepTimeout ?? '30s'
  return saga<SeatPayment>({
    name: PAY_FOR_SEAT,
    steps: [
      step<SeatPayment>('debit')
        .invoke((p) => command(SEND.debit, { memberId: p.memberId, amount: p.amount, paymentId: p.paymentId }, p.memberId))
        .onReply(REPLY.debited, (p, reply) => ({ ...p, balanceAfter: (reply.data as { balanceAfter: number }).balanceAfter }))
        .onReply(REPLY.debitRefused, (p, reply) => fail(p, reasonOf(reply)))
        .compensate((p) => command(SEND.refund, { memberId: p.memberId, paymentId: p.paymentId }, p.memberId), {
          reply: REPLY.refundSettled,
          settled: (p, reply) => ({ ...p, refunded: (reply.data as { refunded: number }).refunded }),
        })
        .timeout(stepTimeout),
      step<SeatPayment>('confirm')
        .invoke((p) => command(SEND.confirm, { reservationId: p.reservationId, memberId: p.memberId, paymentId: p.paymentId }, p.reservationId))
        .onReply(REPLY.confirmed)
        .onReply(REPLY.confirmationRefused, (p, reply) => fail(p, reasonOf(reply)))
        .compensate((p) => command(SEND.withdraw, { reservationId: p.reservationId, paymentId: p.paymentId }, p.reservationId), { reply: REPLY.withdrawn })
        .timeout(stepTimeout),
    ],
    completed: (p) =>
      command(PAYMENT_COMPLETED, { paymentId: p.paymentId, memberId: p.memberId, concertId: p.concertId, reservationId: p.reservationId, amount: p.amount } satisfies PaymentCompleted, p.memberId),
    compensated: (p, reason) => command(PAYMENT_FAILED, { paymentId: p.paymentId, memberId: p.memberId, reservationId: p.reservationId, reason }, p.memberId),
    ...(timing.compensationTimeout ? { compensationTimeout: timing.compensationTimeout } : {}),
    // A refund owed is tried for a long while (about 2 h) before the payment is parked for an operator.
    compensationRetry: { maxAttempts: 20, baseDelayMs: 1_000, maxDelayMs: 10 * 60_000 },
  })
}
