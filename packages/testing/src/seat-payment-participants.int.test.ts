import { describe, expect, it } from 'vitest'
import { uuidv7, type ConsumerDefinition, type Envelope } from '@tidings/core'
import { OutboxFeed, UnitOfWork, type Queryable } from '@tidings/postgres'
import { readAll } from './contracts/outbox-feed.contract'
import { testEngines } from './engines'
import { transactionsSettled } from './feed-horizon'
import { PAYMENTS, seatPaymentWorld, seatsParticipant, walletParticipant } from './seat-payment-saga'
import { seededRandom } from './seeded-random'

const command = (type: string, data: Record<string, unknown>): Envelope => ({ id: uuidv7(), type, source: PAYMENTS, key: String(data.reference), occurredAt: new Date().toISOString(), data, meta: {} })

for (const engine of await testEngines()) {
  describe(`the test wallet and seats on ${engine.name}: a page of commands does what they do one at a time`, () => {
    async function participants() {
      const db = await engine.db()
      const schemas = { orchestrator: await engine.freshSchema('o'), wallet: await engine.freshSchema('w'), seats: await engine.freshSchema('s') }
      const w = await seatPaymentWorld(db, schemas)
      for (const m of ['m0', 'm1', 'm2']) await w.deposit(m, 30)
      const faults = { refundFailures: 0, refundsDown: false, debitsDown: false }
      const consumers: Array<ConsumerDefinition<Queryable>> = [
        walletParticipant(new UnitOfWork({ db, schema: schemas.wallet, source: 'test.wallet' }), schemas.wallet, faults),
        seatsParticipant(new UnitOfWork({ db, schema: schemas.seats, source: 'test.seats' }), schemas.seats),
      ]
      const apply = async (page: Envelope[]) => {
        for (const c of consumers) await db.transaction((tx) => (page.length > 1 ? c.handleBatch!(tx, page) : c.handle(tx, page[0]!)))
      }
      const state = async (commands: readonly Envelope[]) => {
        // The feeds are read up to the horizon: other files' open transactions on the server would hide replies.
        await transactionsSettled(db)
        const rows = async (sql: string) => (await db.query(sql)).rows
        const replies = async (schema: string, source: string) =>
          (await readAll(new OutboxFeed(db, schema, source))).map((e) => [commands.findIndex((c) => c.id === e.meta.causationId), e.type, e.data]).sort((a, b) => (a[0] as number) - (b[0] as number))
        return {
          balances: await rows(`SELECT member, balance::int FROM "${schemas.wallet}".balances ORDER BY member`),
          movements: await rows(`SELECT reference, member, amount::int, status, refunds FROM "${schemas.wallet}".movements ORDER BY reference`),
          seats: await rows(`SELECT seat, reference FROM "${schemas.seats}".seats ORDER BY seat`),
          released: await rows(`SELECT reference FROM "${schemas.seats}".released ORDER BY reference`),
          wallet: await replies(schemas.wallet, 'test.wallet'),
          seatReplies: await replies(schemas.seats, 'test.seats'),
        }
      }
      return { apply, state }
    }

    it('a refund naming a member with no balance gives nothing to anyone (as an UPDATE of no row), on its own or in a page', async () => {
      for (const pageOf of [true, false]) {
        const wallet = await participants()
        const commands = [command('wallet.Debit', { member: 'm0', amount: 10, reference: 'r0' }), command('wallet.Refund', { member: 'nobody', amount: 10, reference: 'r0' })]
        if (pageOf) await wallet.apply(commands)
        else for (const c of commands) await wallet.apply([c])
        const { balances, wallet: replies } = await wallet.state(commands)
        expect(balances).toContainEqual({ member: 'm0', balance: 20 })
        expect(replies.map((r) => r[1])).toEqual(['wallet.Debited', 'wallet.Refunded'])
      }
    })

    it('random commands (unknown members, refunds before debits, seats released and taken by another payment) in random pages', async () => {
      for (const seed of [1, 2, 3, 4]) {
        const random = seededRandom(seed)
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
        const commands = Array.from({ length: 40 }, () => {
          const reference = pick(['r0', 'r1', 'r2', 'r3', 'r4'])
          const member = random() < 0.1 ? 'nobody' : `m${Number(reference.slice(1)) % 3}`
          const type = pick(['wallet.Debit', 'wallet.Debit', 'wallet.Refund', 'seats.Confirm', 'seats.Confirm', 'seats.Release'])
          return command(type, type.startsWith('wallet') ? { member, amount: pick([10, 20]), reference } : { seat: pick(['s0', 's1', 's2']), reference })
        })
        const paged = await participants()
        const single = await participants()
        for (let at = 0; at < commands.length; ) {
          const size = 1 + Math.floor(random() * 8)
          await paged.apply(commands.slice(at, (at += size)))
        }
        for (const c of commands) await single.apply([c])
        expect({ seed, ...(await paged.state(commands)) }).toEqual({ seed, ...(await single.state(commands)) })
      }
    })
  })
}
