import { TidingsError } from '@tidings/core'
import { problem, type Problem } from '@tidings/http'
import type { SagaHistoryLine, StoredSaga } from '@tidings/postgres'
import type { SeatPayment } from './pay-for-seat'

/**
 * A payment as its payer sees it: pending while its saga runs, then completed, refunded (taken and given
 * back: its seat could not be confirmed, or was given back later) or failed (nothing taken).
 */
export type PaymentStatus = 'PENDING' | 'COMPLETED' | 'REFUNDED' | 'FAILED'

export interface PaymentView {
  paymentId: string
  reservationId: string
  amount: number
  status: PaymentStatus
  /** Why it did not complete: `INSUFFICIENT_BALANCE`, `RESERVATION_EXPIRED`, `RESERVATION_NOT_HELD`, … */
  reason?: string
  /** The wallet's balance right after the payment took the amount. */
  balance?: number
}

/** A payment's status: its saga's, and then its refund's when its seat was given back. */
export function paymentStatus(saga: StoredSaga, refund?: StoredSaga): PaymentStatus {
  const state = saga.state as SeatPayment
  switch (saga.status) {
    case 'COMPLETED':
      return refund?.status === 'COMPLETED' ? 'REFUNDED' : 'COMPLETED'
    case 'COMPENSATED':
      return (state.refunded ?? 0) > 0 ? 'REFUNDED' : 'FAILED'
    case 'FAILED':
      return 'FAILED'
    default:
      return 'PENDING'
  }
}

export function paymentView(saga: StoredSaga, refund?: StoredSaga): PaymentView {
  const state = saga.state as SeatPayment
  return {
    paymentId: saga.id,
    reservationId: state.reservationId,
    amount: state.amount,
    status: paymentStatus(saga, refund),
    ...(saga.reason ? { reason: saga.reason } : {}),
    ...(state.balanceAfter !== undefined ? { balance: state.balanceAfter } : {}),
  }
}

export const stepsOf = (history: readonly SagaHistoryLine[]) =>
  history.map((h) => ({ step: h.step, outcome: h.outcome, attempt: h.attempt, ...(h.detail ? { detail: h.detail } : {}), at: h.at.toISOString() }))

export class PaymentNotFound extends TidingsError {
  constructor(paymentId: string) {
    super('PAYMENT_NOT_FOUND', 'not_found', `No payment ${paymentId}`)
  }
}

/**
 * What the payer is told when a payment ended without the seat: a `409` whose code is the participant's
 * reason, with the payment (its id, to read it later, and whether the amount was refunded).
 */
export function refusal(view: PaymentView): Problem {
  const code = view.reason && /^[A-Z_]+$/.test(view.reason) ? view.reason : 'PAYMENT_FAILED'
  const what = view.status === 'REFUNDED' ? `the amount (${view.amount}) was refunded` : 'nothing was taken'
  return problem(409, code, `The payment did not go through (${view.reason ?? 'failed'}): ${what}`, { payment: view })
}
