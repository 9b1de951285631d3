import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** A member's balance, in the smallest currency unit; one wallet per member. */
export interface Wallet {
  memberId: string
  balance: number
  version: number
}

/** What moved the balance: the member's own charge, a payment for a seat, or that payment given back. */
export type MovementType = 'CHARGE' | 'PAYMENT' | 'REFUND'

/**
 * Every wallet event is one movement: its signed amount, the balance after it and what it was for (the
 * payment, for a payment or a refund). The ledger is these events, one row each.
 */
export interface Movement {
  memberId: string
  type: MovementType
  /** Signed: positive for a charge or a refund, negative for a payment. */
  amount: number
  balanceAfter: number
  /** The payment a payment or refund belongs to; null for a charge. */
  reference: string | null
  version: number
}

export type WalletCharged = Event<'concert.WalletCharged.v1', Movement>
export type WalletDebited = Event<'concert.WalletDebited.v1', Movement>
export type WalletRefunded = Event<'concert.WalletRefunded.v1', Movement>
export type WalletEvent = WalletCharged | WalletDebited | WalletRefunded

/** The most a single charge may add, and a balance may hold. */
export const MAX_CHARGE = 10_000_000
export const MAX_BALANCE = 1_000_000_000_000

export class InsufficientBalance extends TidingsError {
  constructor(balance: number, amount: number) {
    super('INSUFFICIENT_BALANCE', 'conflict', `The balance (${balance}) does not cover ${amount}; nothing was taken`, { balance, amount })
  }
}

export class BalanceLimitReached extends TidingsError {
  constructor() {
    super('BALANCE_LIMIT', 'conflict', `A balance holds at most ${MAX_BALANCE}`)
  }
}

export const emptyWallet = (memberId: string): Wallet => ({ memberId, balance: 0, version: 0 })

function move<E extends WalletEvent>(type: E['type'], wallet: Wallet, movement: MovementType, amount: number, reference: string | null): Decision<Wallet, E> {
  const next: Wallet = { ...wallet, balance: wallet.balance + amount, version: wallet.version + 1 }
  const data: Movement = { memberId: wallet.memberId, type: movement, amount, balanceAfter: next.balance, reference, version: next.version }
  return decide(next, event<E>(type, wallet.memberId, data as E['data'], next.version))
}

/** The member adds money. */
export function charge(wallet: Wallet, amount: number): Decision<Wallet, WalletCharged> {
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_CHARGE) throw new RangeError(`a charge is 1..${MAX_CHARGE}, not ${amount}`)
  if (wallet.balance + amount > MAX_BALANCE) throw new BalanceLimitReached()
  return move('concert.WalletCharged.v1', wallet, 'CHARGE', amount, null)
}

/** A payment takes the price, all of it or nothing: the balance never goes below zero. */
export function debit(wallet: Wallet, amount: number, paymentId: string): Decision<Wallet, WalletDebited> {
  if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError(`a payment is a positive amount, not ${amount}`)
  if (wallet.balance < amount) throw new InsufficientBalance(wallet.balance, amount)
  return move('concert.WalletDebited.v1', wallet, 'PAYMENT', -amount, paymentId)
}

/** A payment given back (its reservation could not be confirmed, or was canceled). */
export function refund(wallet: Wallet, amount: number, paymentId: string): Decision<Wallet, WalletRefunded> {
  if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError(`a refund is a positive amount, not ${amount}`)
  return move('concert.WalletRefunded.v1', wallet, 'REFUND', amount, paymentId)
}
