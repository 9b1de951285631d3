import { describe, expect, it } from 'vitest'
import { Dispatcher } from '@tidings/core'
import { migrate, UnitOfWork, type Queryable } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import { charge, debit, InsufficientBalance } from './wallet'
import { WalletLedger } from './wallet-ledger'
import { WalletRepository, walletMigrations } from './wallet.repository'

for (const engine of await testEngines()) {
  describe(`wallet movements on ${engine.name}`, () => {
    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('wallet')
      await migrate(db, schema, 'concert-wallet', walletMigrations)
      const wallets = new WalletRepository(schema)
      const uow = new UnitOfWork({ db, schema, source: 'concert.wallet', dispatcher: new WalletLedger(wallets).register(new Dispatcher<Queryable>()) })
      const move = (memberId: string, change: (w: Awaited<ReturnType<WalletRepository['walletForUpdate']>>) => ReturnType<typeof charge | typeof debit>) =>
        uow.run(async (tx) => {
          const { state, events } = change(await wallets.walletForUpdate(tx, memberId))
          await wallets.save(tx, state)
          tx.record(...events)
          return state.balance
        })
      return { db, wallets, move }
    }

    it('300 concurrent payments of 1,000 on 500,000 → 200,000, and a ledger of deltas whose running sum is the balance', async () => {
      const { db, wallets, move } = await setup()
      await move('m1', (w) => charge(w, 500_000))
      await Promise.all(Array.from({ length: 300 }, (_, i) => move('m1', (w) => debit(w, 1_000, `pay-${i}`))))
      expect((await wallets.wallet(db, 'm1'))!.balance).toBe(200_000)
      const ledger = await wallets.ledger(db, 'm1', { limit: 500 })
      expect(ledger.map((e) => e.version)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1))
      let running = 0
      for (const entry of ledger) expect(entry.balanceAfter).toBe((running += entry.amount))
      expect(new Set(ledger.filter((e) => e.type === 'PAYMENT').map((e) => e.reference)).size).toBe(300)
    })

    it('concurrent payments of 4,000, 2,000 and 3,500 on 5,000: the balance never goes below zero, a refused one takes nothing', async () => {
      const { db, wallets, move } = await setup()
      await move('m2', (w) => charge(w, 5_000))
      const results = await Promise.allSettled([4_000, 2_000, 3_500].map((amount, i) => move('m2', (w) => debit(w, amount, `p-${i}`))))
      const paid = results.filter((r) => r.status === 'fulfilled').length
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof InsufficientBalance)).toBe(true)
      const balance = (await wallets.wallet(db, 'm2'))!.balance
      expect(balance).toBeGreaterThanOrEqual(0)
      const ledger = await wallets.ledger(db, 'm2', { limit: 10 })
      expect(ledger).toHaveLength(1 + paid)
      expect(ledger.at(-1)!.balanceAfter).toBe(balance)
    })
  })
}
