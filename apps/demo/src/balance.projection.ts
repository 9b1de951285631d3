import { consumer } from '@tidings/core'
import type { DocumentStore, Queryable } from '@tidings/postgres'
import type { AccountEvent } from './account'

export interface BalanceDocument {
  accountId: string
  balance: number
  lastMovement: { type: 'deposit' | 'withdrawal'; amount: number; at: string }
}

/** The read side: one document per account, taken from the state each event carries, guarded by version. */
export function balanceProjection(balances: DocumentStore<BalanceDocument>) {
  return consumer<Queryable>({
    name: 'demo.balances',
    follows: ['demo.accounts'],
    async handle(tx, message) {
      const e = message as unknown as { type: AccountEvent['type']; data: AccountEvent['data']; occurredAt: string }
      if (e.type !== 'demo.Deposited.v1' && e.type !== 'demo.Withdrawn.v1') return
      const { accountId, amount, balance, version } = e.data
      await balances.merge(tx, accountId, {
        source: 'account',
        version,
        set: { accountId, balance, lastMovement: { type: e.type === 'demo.Deposited.v1' ? 'deposit' : 'withdrawal', amount, at: e.occurredAt } },
      })
    },
    reset: (tx) => balances.clear(tx),
  })
}
