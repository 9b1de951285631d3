import { describe, expect, it } from 'vitest'
import { given } from '@tidings/testing'
import { deposit, InsufficientFunds, newAccount, withdraw } from './account'

describe('account decisions', () => {
  it('a deposit raises the balance and the version and records the new state', () =>
    given(newAccount('a')).when((a) => deposit(a, 30)).thenExpect(({ state, events }) => {
      expect(state).toEqual({ accountId: 'a', balance: 30, version: 1 })
      expect(events).toEqual([{ type: 'demo.Deposited.v1', key: 'a', version: 1, data: { accountId: 'a', amount: 30, balance: 30, version: 1 } }])
    }))

  it('a withdrawal may not exceed the balance', () =>
    given({ accountId: 'a', balance: 10, version: 3 }).when((a) => withdraw(a, 11)).thenThrows(InsufficientFunds, 'INSUFFICIENT_FUNDS'))

  it('a withdrawal of the whole balance leaves zero', () =>
    given({ accountId: 'a', balance: 10, version: 3 }).when((a) => withdraw(a, 10)).thenExpect(({ state }) => expect(state).toEqual({ accountId: 'a', balance: 0, version: 4 })))
})
