/**
 * The payment service's feed and what travels on it: the saga's commands to the wallet and the concert
 * services (each applied once through its inbox), and the payment's outcome, which the waiting room follows.
 */
export const PAYMENT_SOURCE = 'concert.payment'

/** To the wallet: take the reservation's price. Replied by `concert.WalletDebited.v1` or `concert.WalletDebitRefused.v1`. */
export interface DebitWallet {
  memberId: string
  amount: number
  paymentId: string
}

/** To the wallet: give back what the payment took, if it took anything. Replied by `concert.RefundSettled.v1`. */
export interface RefundWallet {
  memberId: string
  paymentId: string
}

/** To the concert service: the seat is paid. Replied by `concert.ReservationConfirmed.v1` or `concert.ReservationConfirmationRefused.v1`. */
export interface ConfirmReservation {
  reservationId: string
  memberId: string
  paymentId: string
}

/** To the concert service: the payment gave up; undo its confirmation if it came. Replied by `concert.ConfirmationWithdrawn.v1`. */
export interface WithdrawConfirmation {
  reservationId: string
  paymentId: string
}

/** The payment's outcome: the seat is the payer's. */
export interface PaymentCompleted {
  paymentId: string
  memberId: string
  concertId: string
  reservationId: string
  amount: number
}

export const PAYMENT_COMMANDS = {
  debit: 'concert.DebitWallet',
  refund: 'concert.RefundWallet',
  confirm: 'concert.ConfirmReservation',
  withdraw: 'concert.WithdrawConfirmation',
} as const

export const PAYMENT_REPLIES = {
  debited: 'concert.WalletDebited.v1',
  debitRefused: 'concert.WalletDebitRefused.v1',
  refundSettled: 'concert.RefundSettled.v1',
  confirmed: 'concert.ReservationConfirmed.v1',
  confirmationRefused: 'concert.ReservationConfirmationRefused.v1',
  withdrawn: 'concert.ConfirmationWithdrawn.v1',
} as const

export const PAYMENT_COMPLETED = 'concert.PaymentCompleted.v1'
/** A canceled sale's payment, given back. */
export const PAYMENT_REFUNDED = 'concert.PaymentRefunded.v1'
export const PAYMENT_FAILED = 'concert.PaymentFailed.v1'
