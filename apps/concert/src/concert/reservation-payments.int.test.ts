import { describe, expect, it } from 'vitest'
import { manualClock, type Envelope } from '@tidings/core'
import { migrate, UnitOfWork } from '@tidings/postgres'
import { seededRandom, testEngines } from '@tidings/testing'
import { PAYMENT_COMMANDS, PAYMENT_REPLIES } from '../payment/payment.contracts'
import { applyPage, inPagesAndOneByOne, paymentCommand, picker, repliesTo } from '../test-kit/reactor-pages'
import { scheduleConcert } from './concert'
import { CONCERT_SOURCE } from './concert.contracts'
import { ConcertRepository, concertMigrations } from './concert.repository'
import { scheduleHoldExpiry } from './hold-expiry'
import { hold } from './reservation'
import { reservationPayments } from './reservation-payments'
import { ReservationRepository, reservationMigrations } from './reservation.repository'

const T0 = '2026-06-01T10:00:00.000Z'
const concertId = '01970000-0000-7000-8000-000000000001'
const performanceId = '01970000-0000-7000-8000-000000000002'
/** Reservation i, on seat i + 1: the same ids in every schema, so that two schemas' states compare. */
const reservationId = (i: number) => `01970000-0000-7000-8000-1000000000${String(i).padStart(2, '0')}`

const confirmOf = (i: number, memberId: string, paymentId: string) => paymentCommand(PAYMENT_COMMANDS.confirm, paymentId, { reservationId: reservationId(i), memberId, paymentId })
const withdrawOf = (i: number, paymentId: string) => paymentCommand(PAYMENT_COMMANDS.withdraw, paymentId, { reservationId: reservationId(i), paymentId })

for (const engine of await testEngines()) {
  describe(`the concert service's payment commands on ${engine.name}: a page does what its commands do one at a time`, () => {
    /**
     * A concert service's schema with one performance of 10 seats and holds on the first ones: member
     * `m<i % 3>` holds reservation i for `ttls[i]` ms from T0. Commands are applied at T0 + 30 s.
     */
    async function concert(ttls: readonly number[]) {
      const db = await engine.db()
      const schema = await engine.freshSchema('rp')
      await migrate(db, schema, 'concert-concert', [...concertMigrations, ...reservationMigrations])
      const clock = manualClock(T0)
      const uow = new UnitOfWork({ db, schema, source: CONCERT_SOURCE, clock })
      const reservations = new ReservationRepository(schema)
      const plan = { title: 'Pages', performances: [{ startsAt: '2026-07-01T19:00:00.000Z', seatCount: 10, price: 500 }] }
      await uow.run(async (tx) => new ConcertRepository(schema).insert(tx, scheduleConcert(concertId, plan, [performanceId]).state, clock.now()))
      const performance = (await reservations.performance(db, performanceId))!
      for (const [i, ttl] of ttls.entries()) {
        await uow.run(async (tx) => {
          const { state } = hold(reservationId(i), performance, i + 1, `m${i % 3}`, clock.now(), ttl)
          await reservations.takeSeat(tx, performanceId, i + 1)
          await reservations.insert(tx, state, clock.now())
          await scheduleHoldExpiry(tx, schema, state)
        })
      }
      clock.advance(30_000)
      const consumer = reservationPayments(uow, schema, reservations, clock)
      return {
        apply: (page: readonly Envelope[]) => applyPage(db, consumer, page),
        async state(commands: readonly Envelope[]) {
          const rows = async (sql: string) => (await db.query(sql)).rows
          return {
            reservations: await rows(`SELECT seat_no, status, payment_id, version FROM "${schema}".reservations ORDER BY seat_no`),
            seats: await rows(`SELECT seat_no, status FROM "${schema}".seats ORDER BY seat_no`),
            available: await rows(`SELECT available_seats FROM "${schema}".performances`),
            expiries: await rows(`SELECT key FROM "${schema}".scheduled_messages ORDER BY key`),
            withdrawn: await rows(`SELECT payment_id FROM "${schema}".withdrawn_payments ORDER BY payment_id`),
            replies: await repliesTo(db, schema, CONCERT_SOURCE, commands),
          }
        },
      }
    }

    it('confirmations and withdrawals of one reservation in one page: each sees the ones before it; four statements for the page', async () => {
      const commands = [
        confirmOf(0, 'm1', 'p1'), // another member's hold: refused
        confirmOf(0, 'm0', 'p1'),
        confirmOf(0, 'm0', 'p1'), // again: confirmed again, nothing changes
        confirmOf(0, 'm0', 'p2'), // sold to p1: refused
        withdrawOf(0, 'p1'), // the seat is free again
        confirmOf(0, 'm0', 'p1'), // withdrawn: refused
        withdrawOf(1, 'p3'), // never confirmed: nothing to free
        confirmOf(1, 'm1', 'p3'), // withdrawn before it came: refused
        confirmOf(2, 'm2', 'p4'), // the hold has expired
        paymentCommand(PAYMENT_COMMANDS.confirm, 'p5', { reservationId: reservationId(9), memberId: 'm0', paymentId: 'p5' }), // no such reservation
      ]
      const ttls = [60_000, 60_000, 10_000]
      const paged = await concert(ttls)
      expect(await paged.apply(commands)).toBe(4) // reservations, withdrawn payments; the writes; the replies
      const single = await concert(ttls)
      for (const command of commands) await single.apply([command])
      const state = await paged.state(commands)
      expect(state).toEqual(await single.state(commands))

      expect(state.reservations).toEqual([
        { seat_no: 1, status: 'CANCELED', payment_id: 'p1', version: 3 },
        { seat_no: 2, status: 'HELD', payment_id: null, version: 1 },
        { seat_no: 3, status: 'HELD', payment_id: null, version: 1 },
      ])
      expect(state.seats.slice(0, 4).map((s) => s.status)).toEqual(['AVAILABLE', 'HELD', 'HELD', 'AVAILABLE'])
      expect(state.available).toEqual([{ available_seats: 8 }])
      expect(state.expiries).toEqual([{ key: reservationId(1) }, { key: reservationId(2) }])
      expect(state.withdrawn).toEqual([{ payment_id: 'p1' }, { payment_id: 'p3' }])
      const answer = (type: string, data: unknown) => (type === PAYMENT_REPLIES.confirmationRefused ? `refused ${(data as { reason: string }).reason}` : type)
      expect(state.replies.map(([i, type, data]) => `${i} ${answer(type, data)}`)).toEqual([
        '0 refused RESERVATION_NOT_HELD',
        `1 ${PAYMENT_REPLIES.confirmed}`,
        `2 ${PAYMENT_REPLIES.confirmed}`,
        '3 refused RESERVATION_NOT_HELD',
        '4 concert.ReservationCanceled.v1',
        `4 ${PAYMENT_REPLIES.withdrawn}`,
        '5 refused RESERVATION_NOT_HELD',
        `6 ${PAYMENT_REPLIES.withdrawn}`,
        '7 refused RESERVATION_NOT_HELD',
        '8 refused RESERVATION_EXPIRED',
        '9 refused RESERVATION_NOT_HELD',
      ])
    })

    it('random confirmations and withdrawals of a few reservations in random pages', async () => {
      for (const seed of [1, 2, 3]) {
        const random = seededRandom(seed)
        const pick = picker(random)
        const commands = Array.from({ length: 40 }, () => {
          const i = pick([0, 1, 2, 3, 4])
          const paymentId = pick(['p0', 'p1', 'p2', 'p3', 'p4', 'p5'])
          return random() < 0.7 ? confirmOf(i, random() < 0.8 ? `m${i % 3}` : 'm9', paymentId) : withdrawOf(i, paymentId)
        })
        const ttls = [60_000, 60_000, 60_000, 10_000, 60_000]
        const [paged, single] = [await concert(ttls), await concert(ttls)]
        await inPagesAndOneByOne(commands, random, paged, single)
        expect({ seed, ...(await paged.state(commands)) }).toEqual({ seed, ...(await single.state(commands)) })
      }
    })
  })
}
