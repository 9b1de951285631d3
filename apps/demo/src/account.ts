import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** The demo's one aggregate: an account that takes deposits and withdrawals. Pure: no IO, no clock. */
export interface Account {
  accountId: string
  balance: number
  version: number
}

export type Deposited = Event<'demo.Deposited.v1', { accountId: string; amount: number; balance: number; version: number }>
export type Withdrawn = Event<'demo.Withdrawn.v1', { accountId: string; amount: number; balance: number; version: number }>
export type AccountEvent = Deposited | Withdrawn

export class InsufficientFunds extends TidingsError {
  constructor(accountId: string, balance: number, amount: number) {
    super('INSUFFICIENT_FUNDS', 'conflict', `Account ${accountId} holds ${balance}, cannot withdraw ${amount}`)
  }
}

export class AccountNotFound extends TidingsError {
  constructor(accountId: string) {
    super('ACCOUNT_NOT_FOUND', 'not_found', `No account ${accountId}`)
  }
}

export function newAccount(accountId: string): Account {
  return { accountId, balance: 0, version: 0 }
}

export function deposit(account: Account, amount: number): Decision<Account, Deposited> {
  const next = { ...account, balance: account.balance + amount, version: account.version + 1 }
  return decide(next, event<Deposited>('demo.Deposited.v1', account.accountId, { accountId: account.accountId, amount, balance: next.balance, version: next.version }))
}

export function withdraw(account: Account, amount: number): Decision<Account, Withdrawn> {
  if (amount > account.balance) throw new InsufficientFunds(account.accountId, account.balance, amount)
  const next = { ...account, balance: account.balance - amount, version: account.version + 1 }
  return decide(next, event<Withdrawn>('demo.Withdrawn.v1', account.accountId, { accountId: account.accountId, amount, balance: next.balance, version: next.version }))
}
