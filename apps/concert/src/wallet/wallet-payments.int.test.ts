import { describe, expect, it } from 'vitest'
import { Dispatcher, type Envelope } from '@tidings/core'
import { migrate, UnitOfWork, type Queryable } from '@tidings/postgres'
import { seededRandom, testEngines } from '@tidings/testing'
import { PAYMENT_COMMANDS, PAYMENT_REPLIES } from '../payment/payment.contracts'
import { applyPage, inPagesAndOneByOne, paymentCommand, picker, repliesTo } from '../test-kit/reactor-pages'
import { charge } from './wallet'
import { WALLET_SOURCE } from './wallet.contracts'
import { WalletLedger } from './wallet-ledger'
import { walletPayments } from './wallet-payments'
import { WalletRepository, walletMigrations } from './wallet.repository'

const debitOf = (memberId: string, paymentId: string, amount: number) => paymentCommand(PAYMENT_COMMANDS.debit, paymentId, { memberId, paymentId, amount })
const refundOf = (memberId: string, paymentId: string) => paymentCommand(PAYMENT_COMMANDS.refund, paymentId, { memberId, paymentId })

for (const engine of await testEngines()) {
  describe(`the wallet's payment commands on ${engine.name}: a page does what its commands do one at a time`, () => {
    /** A wallet service's schema with these balances, and its reaction to the saga's commands. */
    async function wallet(balances: Record<string, number>) {
      const db = await engine.db()
      const schema = await engine.freshSchema('wp')
      await migrate(db, schema, 'concert-wallet', walletMigrations)
      const wallets = new WalletRepository(schema)
      const ledger = new WalletLedger(wallets)
      const uow = new UnitOfWork({ db, schema, source: WALLET_SOURCE, dispatcher: ledger.register(new Dispatcher<Queryable>()) })
      for (const [memberId, amount] of Object.entries(balances)) {
        await uow.run(async (tx) => {
          const { state, events } = charge(await wallets.walletForUpdate(tx, memberId), amount)
          await wallets.save(tx, state)
          tx.record(...events)
        })
      }
      const consumer = walletPayments(uow, wallets, ledger)
      return {
        apply: (page: readonly Envelope[]) => applyPage(db, consumer, page),
        async state(commands: readonly Envelope[]) {
          const rows = async (sql: string) => (await db.query(sql)).rows
          return {
            wallets: await rows(`SELECT member_id, balance::int, version FROM "${schema}".wallets ORDER BY member_id`),
            ledger: await rows(`SELECT member_id, version, type, amount::int, balance_after::int, reference FROM "${schema}".ledger ORDER BY member_id, version`),
            voided: await rows(`SELECT payment_id FROM "${schema}".voided_payments ORDER BY payment_id`),
            replies: await repliesTo(db, schema, WALLET_SOURCE, commands),
          }
        },
      }
    }

    it('debits, refunds and repeats for one wallet in one page: each sees the ones before it; five statements for the page', async () => {
      const commands = [
        debitOf('m1', 'p1', 60),
        debitOf('m1', 'p2', 60), // 40 left: refused
        refundOf('m1', 'p1'),
        debitOf('m1', 'p2', 60),
        debitOf('m1', 'p1', 60), // taken already: nothing
        refundOf('m1', 'p3'), // took nothing: voided
        debitOf('m1', 'p3', 10), // voided: refused
        debitOf('nobody', 'p4', 10), // no wallet: refused
      ]
      const paged = await wallet({ m1: 100 })
      expect(await paged.apply(commands)).toBe(5) // wallets, ledger, voided payments; the writes; the replies
      const single = await wallet({ m1: 100 })
      for (const command of commands) await single.apply([command])
      const state = await paged.state(commands)
      expect(state).toEqual(await single.state(commands))

      expect(state.wallets).toEqual([{ member_id: 'm1', balance: 40, version: 4 }])
      expect(state.ledger.map((e) => [e.version, e.type, e.amount, e.balance_after, e.reference])).toEqual([
        [1, 'CHARGE', 100, 100, null],
        [2, 'PAYMENT', -60, 40, 'p1'],
        [3, 'REFUND', 60, 100, 'p1'],
        [4, 'PAYMENT', -60, 40, 'p2'],
      ])
      expect(state.voided).toEqual([{ payment_id: 'p3' }])
      const answer = (type: string, data: unknown) => (type === PAYMENT_REPLIES.debitRefused ? `refused ${(data as { reason: string }).reason}` : type === PAYMENT_REPLIES.refundSettled ? `settled ${(data as { refunded: number }).refunded}` : type)
      expect(state.replies.filter(([i]) => i >= 0).map(([i, type, data]) => `${i} ${answer(type, data)}`)).toEqual([
        `0 ${PAYMENT_REPLIES.debited}`,
        '1 refused INSUFFICIENT_BALANCE',
        '2 concert.WalletRefunded.v1',
        '2 settled 60',
        `3 ${PAYMENT_REPLIES.debited}`,
        '5 settled 0',
        '6 refused PAYMENT_WITHDRAWN',
        '7 refused INSUFFICIENT_BALANCE',
      ])
    })

    it('random debits and refunds of a few wallets in random pages', async () => {
      for (const seed of [1, 2, 3]) {
        const random = seededRandom(seed)
        const pick = picker(random)
        const commands = Array.from({ length: 40 }, () => {
          const paymentId = pick(['r0', 'r1', 'r2', 'r3', 'r4', 'r5'])
          const memberId = random() < 0.1 ? 'nobody' : pick(['m0', 'm1', 'm2'])
          return random() < 0.65 ? debitOf(memberId, paymentId, pick([10, 20, 30])) : refundOf(memberId, paymentId)
        })
        const balances = { m0: 30, m1: 50, m2: 10 }
        const [paged, single] = [await wallet(balances), await wallet(balances)]
        await inPagesAndOneByOne(commands, random, paged, single)
        expect({ seed, ...(await paged.state(commands)) }).toEqual({ seed, ...(await single.state(commands)) })
      }
    })
  })
}
