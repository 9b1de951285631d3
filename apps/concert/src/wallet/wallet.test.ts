import { describe, expect, it } from 'vitest'
import { charge, debit, emptyWallet, InsufficientBalance, MAX_BALANCE, MAX_CHARGE, refund, BalanceLimitReached } from './wallet'

describe('wallet', () => {
  it('records each movement with its signed amount and the balance after it', () => {
    const charged = charge(emptyWallet('m1'), 1_000)
    const paid = debit(charged.state, 400, 'pay-1')
    const refunded = refund(paid.state, 400, 'pay-1')
    expect([charged, paid, refunded].map((d) => [d.events[0]!.type, d.events[0]!.data.amount, d.events[0]!.data.balanceAfter, d.events[0]!.data.reference])).toEqual([
      ['concert.WalletCharged.v1', 1_000, 1_000, null],
      ['concert.WalletDebited.v1', -400, 600, 'pay-1'],
      ['concert.WalletRefunded.v1', 400, 1_000, 'pay-1'],
    ])
    expect(refunded.state).toEqual({ memberId: 'm1', balance: 1_000, version: 3 })
    expect(refunded.events[0]!.version).toBe(3)
  })

  it('takes all of a payment or nothing: never below zero', () => {
    const wallet = charge(emptyWallet('m1'), 500).state
    expect(() => debit(wallet, 501, 'pay-1')).toThrow(InsufficientBalance)
    expect(debit(wallet, 500, 'pay-1').state.balance).toBe(0)
  })

  it('refuses amounts that are not whole, positive and within the limits', () => {
    for (const amount of [0, -1, 1.5, Number.NaN, MAX_CHARGE + 1]) expect(() => charge(emptyWallet('m1'), amount)).toThrow(RangeError)
    for (const amount of [0, -5, 0.5]) {
      expect(() => debit(emptyWallet('m1'), amount, 'p')).toThrow(RangeError)
      expect(() => refund(emptyWallet('m1'), amount, 'p')).toThrow(RangeError)
    }
    expect(() => charge({ memberId: 'm1', balance: MAX_BALANCE, version: 9 }, 1)).toThrow(BalanceLimitReached)
  })
})
