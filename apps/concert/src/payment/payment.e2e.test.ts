import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import { concertOverHttp, type Answer, type ConcertOverHttp, type Member } from '../test-kit/concert-over-http'

let keys = 0
const newKey = () => `pay-${process.pid}-${++keys}`

for (const engine of await testEngines()) {
  describe(`payments over HTTP on ${engine.name}`, () => {
    let app: ConcertOverHttp
    /** Holds last 2 s here: the tests of late confirmations wait for them. */
    let brief: ConcertOverHttp
    beforeAll(async () => {
      ;[app, brief] = await Promise.all([concertOverHttp(engine, { crowd: true }), concertOverHttp(engine, { crowd: true, holdTtlMs: 2_000 })])
    })
    afterAll(async () => {
      await app?.close()
      await brief?.close()
    })

    /** A member with `amount` in their wallet, ACTIVE in the concert's waiting room. */
    const charged = async (on: ConcertOverHttp, amount: number, concertId: string): Promise<Member> => {
      const [member] = await on.crowd(1)
      expect((await on.call('POST', '/api/wallet/charges', member!.token, { amount })).status).toBe(200)
      await on.admit(concertId, member!)
      return member!
    }
    const holdSeat = async (on: ConcertOverHttp, member: Member, performanceId: string, seatNo = 1): Promise<string> => {
      const held = await on.call('POST', '/api/reservations', member.token, { performanceId, seatNo })
      expect(held.status).toBe(201)
      return held.body.reservationId as string
    }
    const pay = (on: ConcertOverHttp, member: Member, reservationId: string, key: string | null = newKey()): Promise<Answer> =>
      on.call('POST', '/api/payments', member.token, { reservationId }, key === null ? {} : { 'Idempotency-Key': key })
    /** The payment an answer is about: in its body, or in its refusal's. */
    const paymentIdOf = (answer: Answer) => ((answer.body.payment as { paymentId?: string } | undefined)?.paymentId ?? answer.body.paymentId) as string
    const balance = async (on: ConcertOverHttp, member: Member) => (await on.call('GET', '/api/wallet', member.token)).body.balance as number
    const ledger = async (on: ConcertOverHttp, member: Member) =>
      ((await on.call('GET', '/api/wallet/ledger', member.token)).body.items as Array<{ type: string; amount: number; balanceAfter: number; reference: string | null }>).map((e) => [e.type, e.amount, e.reference])
    /** The seats as another member, ACTIVE, sees them (a payer's own token is COMPLETED by their payment). */
    const seatsAs = async (on: ConcertOverHttp, concertId: string, performanceId: string) => {
      const [viewer] = await on.crowd(1)
      await on.admit(concertId, viewer!)
      return (await on.call('GET', `/api/performances/${performanceId}/seats`, viewer!.token)).body.seats as Array<{ status: string }>
    }
    const reservation = async (on: ConcertOverHttp, member: Member, id: string) => (await on.call('GET', `/api/reservations/${id}`, member.token)).body

    it('pays for a held seat: the price is taken once, the seat is RESERVED, the payment COMPLETED', async () => {
      const { concertId, performanceId } = await app.performance(10, 30_000)
      const member = await charged(app, 50_000, concertId)
      const reservationId = await holdSeat(app, member, performanceId, 4)
      const paid = await pay(app, member, reservationId)
      expect([paid.status, paid.body]).toEqual([201, { paymentId: expect.any(String), reservationId, amount: 30_000, status: 'COMPLETED', balance: 20_000 }])
      expect(paid.headers.get('tidings-position')).toMatch(/^concert\.payment@/)
      const paymentId = paid.body.paymentId as string
      expect(await reservation(app, member, reservationId)).toMatchObject({ status: 'CONFIRMED', paymentId })
      const seats = await seatsAs(app, concertId, performanceId)
      expect(seats[3]!.status).toBe('RESERVED')
      expect(await balance(app, member)).toBe(20_000)
      expect(await ledger(app, member)).toEqual([['CHARGE', 50_000, null], ['PAYMENT', -30_000, paymentId]])

      const read = await app.call('GET', `/api/payments/${paymentId}`, member.token)
      expect(read.body).toMatchObject({ paymentId, status: 'COMPLETED', amount: 30_000 })
      expect((read.body.steps as Array<{ step: string; outcome: string }>).map((s) => `${s.step} ${s.outcome}`)).toEqual(['debit sent', 'debit replied', 'confirm sent', 'confirm replied', 'confirm completed'])
      const [stranger] = await app.crowd(1)
      expect((await app.call('GET', `/api/payments/${paymentId}`, stranger!.token)).body.code).toBe('PAYMENT_NOT_FOUND')
      // The payment completed the member's queue token; queued again, paying again for the sold seat with a new key takes nothing.
      const used = app.queueToken(member)!
      await eventually(async () => (await app.call('GET', `/api/queue/${used}`, undefined)).body.status, (s) => s === 'COMPLETED', { what: 'the payer’s token to complete' })
      expect((await pay(app, member, reservationId)).body.code).toBe('QUEUE_TOKEN_NOT_ACTIVE')
      await app.admit(concertId, member)
      const again = await pay(app, member, reservationId)
      expect([again.status, again.body.code, await balance(app, member)]).toEqual([409, 'RESERVATION_NOT_HELD', 20_000])
    })

    it('a sold seat given back before the performance is free at once, and its payment refunded by a saga', async () => {
      const { concertId, performanceId } = await app.performance(10, 25_000)
      const member = await charged(app, 30_000, concertId)
      const reservationId = await holdSeat(app, member, performanceId, 2)
      const paymentId = (await pay(app, member, reservationId)).body.paymentId as string
      const canceled = await app.call('DELETE', `/api/reservations/${reservationId}`, member.token)
      expect([canceled.status, canceled.body.status, canceled.body.paymentId]).toEqual([200, 'CANCELED', paymentId])
      const seats = await seatsAs(app, concertId, performanceId)
      expect(seats[1]!.status).toBe('AVAILABLE')
      expect(((await app.call('GET', `/api/concerts/${concertId}`, undefined)).body.performances as Array<{ availableSeats: number }>)[0]!.availableSeats).toBe(10)
      const read = await eventually(async () => (await app.call('GET', `/api/payments/${paymentId}`, member.token)).body, (p) => p.status === 'REFUNDED', { what: 'the refund' })
      expect((read.steps as Array<{ step: string; outcome: string }>).slice(-3).map((s) => `${s.step} ${s.outcome}`)).toEqual(['refund sent', 'refund replied', 'refund completed'])
      expect(await balance(app, member)).toBe(30_000)
      expect(await ledger(app, member)).toEqual([['CHARGE', 30_000, null], ['PAYMENT', -25_000, paymentId], ['REFUND', 25_000, paymentId]])
      const again = await app.call('DELETE', `/api/reservations/${reservationId}`, member.token)
      expect([again.status, again.body.code]).toEqual([409, 'RESERVATION_ALREADY_CANCELED'])
    })

    it('a rebuild of the wallet’s and the seats’ parts from the start applies every command again and changes nothing', async () => {
      const { concertId, performanceId } = await app.performance(10, 10_000)
      const member = await charged(app, 30_000, concertId)
      const paid = await pay(app, member, await holdSeat(app, member, performanceId, 5))
      expect(paid.status).toBe(201)
      const before = [await balance(app, member), await ledger(app, member)]
      for (const name of ['concert.wallet-payments', 'concert.reservation-payments']) {
        const subscription = app.concert.services.flatMap((s) => s.subscriptions).find((s) => s.name === name)!
        await subscription.reset()
        await eventually(async () => Object.values(await subscription.lag()).every((l) => l.events === 0), (done) => done, { what: `${name} to apply the payment feed again` })
      }
      expect([await balance(app, member), await ledger(app, member)]).toEqual(before)
      const dead = await app.db.query<{ n: number }>(`SELECT (SELECT count(*) FROM concert_wallet.dead_letters) + (SELECT count(*) FROM concert_concert.dead_letters) AS n`)
      expect(Number(dead.rows[0]!.n)).toBe(0)
    })

    it('after an outage, a reply that came in time beats the step timeout that fell due meanwhile', async () => {
      const outage = await concertOverHttp(engine, { crowd: true, paymentStepTimeoutMs: 1_000 })
      try {
        const { concertId, performanceId } = await outage.performance(5, 10_000)
        const member = await charged(outage, 10_000, concertId)
        const reservationId = await holdSeat(outage, member, performanceId)
        // The orchestrator is down (its replies and timers stopped); the wallet still takes the amount.
        const orchestrator = outage.concert.services.find((s) => s.name === 'concert.payment')!
        const [replies] = orchestrator.subscriptions
        const [timers] = orchestrator.workers!
        await Promise.all([replies!.stop(), timers!.stop()])
        const answer = pay(outage, member, reservationId)
        await eventually(() => balance(outage, member), (b) => b === 0, { what: 'the wallet to take the amount' })
        await new Promise((resolve) => setTimeout(resolve, 1_500)) // the debit's timeout falls due
        // Back up, the timers first and the replies a moment later: the timers wait for the replies.
        timers!.start()
        await new Promise((resolve) => setTimeout(resolve, 500))
        replies!.start()
        const paymentId = paymentIdOf(await answer)
        const read = await eventually(async () => (await outage.call('GET', `/api/payments/${paymentId}`, member.token)).body, (p) => p.status !== 'PENDING', { what: 'the payment to end' })
        expect(read).toMatchObject({ status: 'COMPLETED' })
        expect(await balance(outage, member)).toBe(0)
      } finally {
        await outage.close()
      }
    })

    it('the same Idempotency-Key sent five times at once is one payment, charged once', async () => {
      const { concertId, performanceId } = await app.performance(10, 10_000)
      const member = await charged(app, 100_000, concertId)
      const reservationId = await holdSeat(app, member, performanceId)
      const key = newKey()
      const answers = await Promise.all(Array.from({ length: 5 }, () => pay(app, member, reservationId, key)))
      const done = answers.filter((a) => a.status === 201)
      expect(done.length).toBeGreaterThanOrEqual(1)
      expect(answers.filter((a) => a.status !== 201).map((a) => [a.status, a.body.code])).toEqual(answers.filter((a) => a.status !== 201).map(() => [409, 'IDEMPOTENCY_KEY_IN_USE']))
      expect(new Set(done.map((a) => a.body.paymentId)).size).toBe(1)
      const replay = await pay(app, member, reservationId, key)
      expect([replay.status, replay.body.paymentId, replay.headers.get('idempotent-replayed')]).toEqual([201, done[0]!.body.paymentId, 'true'])
      expect(await balance(app, member)).toBe(90_000)
    })

    it('without an Idempotency-Key: 400 IDEMPOTENCY_KEY_REQUIRED, nothing taken; another member’s reservation is not found', async () => {
      const { concertId, performanceId } = await app.performance(10, 10_000)
      const member = await charged(app, 20_000, concertId)
      const reservationId = await holdSeat(app, member, performanceId)
      const bare = await pay(app, member, reservationId, null)
      expect([bare.status, bare.body.code]).toEqual([400, 'IDEMPOTENCY_KEY_REQUIRED'])
      const thief = await charged(app, 20_000, concertId)
      const stolen = await pay(app, thief, reservationId)
      expect([stolen.status, stolen.body.code]).toEqual([404, 'RESERVATION_NOT_FOUND'])
      for (const body of [{ reservationId: 'x' }, { reservationId, amount: 1 }, {}]) {
        const answer = await app.call('POST', '/api/payments', member.token, body, { 'Idempotency-Key': newKey() })
        expect([answer.status, answer.body.code]).toEqual([400, 'VALIDATION'])
      }
      expect((await app.call('POST', '/api/payments', undefined, { reservationId }, { 'Idempotency-Key': newKey() })).status).toBe(401)
      expect([await balance(app, member), await balance(app, thief)]).toEqual([20_000, 20_000])
      expect((await reservation(app, member, reservationId)).status).toBe('HELD')
    })

    it('two payments of one reservation with different keys at once: one takes the money, the other is refused before taking any', async () => {
      const { concertId, performanceId } = await app.performance(10, 8_000)
      const member = await charged(app, 20_000, concertId)
      const reservationId = await holdSeat(app, member, performanceId)
      const answers = await Promise.all([pay(app, member, reservationId), pay(app, member, reservationId), pay(app, member, reservationId)])
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1)
      const paymentId = answers.find((a) => a.status === 201)!.body.paymentId as string
      // Refused while the first ran, or (the first done by then) because the seat is no longer held.
      for (const refused of answers.filter((a) => a.status !== 201)) {
        expect(`${refused.status} ${refused.body.code as string}`).toMatch(/^(409 (PAYMENT_IN_PROGRESS|RESERVATION_NOT_HELD)|403 QUEUE_TOKEN_NOT_ACTIVE)$/)
      }
      // Taken once, never taken and given back.
      expect(await ledger(app, member)).toEqual([['CHARGE', 20_000, null], ['PAYMENT', -8_000, paymentId]])
    })

    it('a payment refused with nothing taken gives the reservation up to the next one', async () => {
      const { concertId, performanceId } = await app.performance(10, 30_000)
      const member = await charged(app, 10_000, concertId)
      const reservationId = await holdSeat(app, member, performanceId)
      expect((await pay(app, member, reservationId)).body.code).toBe('INSUFFICIENT_BALANCE')
      expect((await app.call('POST', '/api/wallet/charges', member.token, { amount: 20_000 })).status).toBe(200)
      const paid = await pay(app, member, reservationId)
      expect([paid.status, paid.body.status]).toEqual([201, 'COMPLETED'])
    })

    it('insufficient balance: 409 INSUFFICIENT_BALANCE, nothing taken, the seat still held, the payment FAILED', async () => {
      const { concertId, performanceId } = await app.performance(10, 30_000)
      const member = await charged(app, 29_999, concertId)
      const reservationId = await holdSeat(app, member, performanceId)
      const refused = await pay(app, member, reservationId)
      expect([refused.status, refused.body.code]).toEqual([409, 'INSUFFICIENT_BALANCE'])
      expect(await balance(app, member)).toBe(29_999)
      expect(await ledger(app, member)).toEqual([['CHARGE', 29_999, null]])
      expect((await reservation(app, member, reservationId)).status).toBe('HELD')
      const paymentId = paymentIdOf(refused)
      expect(refused.body.payment).toMatchObject({ status: 'FAILED', amount: 30_000 })
      expect((await app.call('GET', `/api/payments/${paymentId}`, member.token)).body).toMatchObject({ status: 'FAILED', reason: 'INSUFFICIENT_BALANCE' })
    })

    it('payments of 4,000, 2,000 and 3,500 at once on 5,000: the balance never goes below zero', async () => {
      const startsAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString()
      const prices = [4_000, 2_000, 3_500]
      const scheduled = await app.call('POST', '/api/concerts', 'concert-kit-operator-secret', { title: 'Three prices', performances: prices.map((price) => ({ startsAt, seatCount: 5, price })) })
      const performances = scheduled.body.performances as Array<{ performanceId: string; price: number }>
      const member = await charged(app, 5_000, scheduled.body.concertId as string)
      const reservations = await Promise.all(prices.map((price) => holdSeat(app, member, performances.find((p) => p.price === price)!.performanceId)))
      const answers = await Promise.all(reservations.map((id) => pay(app, member, id)))
      const paid = answers.filter((a) => a.status === 201).reduce((sum, a) => sum + (a.body.amount as number), 0)
      expect(paid).toBeGreaterThan(0)
      expect(paid).toBeLessThanOrEqual(5_000)
      // A payment that completed ends the member's queue token: one checked after that is refused before anything is taken.
      const refused = answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${a.body.code as string}`)
      expect(refused.every((r) => r === '409 INSUFFICIENT_BALANCE' || r === '403 QUEUE_TOKEN_NOT_ACTIVE')).toBe(true)
      expect(await balance(app, member)).toBe(5_000 - paid)
      const entries = (await app.call('GET', '/api/wallet/ledger', member.token)).body.items as Array<{ amount: number; balanceAfter: number }>
      let running = 0
      for (const entry of entries) {
        running += entry.amount
        expect(entry.balanceAfter).toBe(running)
        expect(running).toBeGreaterThanOrEqual(0)
      }
    })

    it('a confirmation that comes after the hold expired is refused, and the amount refunded', async () => {
      const { concertId, performanceId } = await brief.performance(5, 10_000)
      const member = await charged(brief, 10_000, concertId)
      const reservationId = await holdSeat(brief, member, performanceId)
      // The concert service's part of the saga is down: the wallet takes the amount, the confirmation waits.
      const confirmations = brief.concert.services.find((s) => s.name === 'concert.concert')!.subscriptions[0]!
      await confirmations.stop()
      const answer = pay(brief, member, reservationId)
      await eventually(() => balance(brief, member), (b) => b === 0, { what: 'the wallet to take the amount' })
      await eventually(async () => (await reservation(brief, member, reservationId)).status, (s) => s === 'EXPIRED', { what: 'the hold to expire' })
      confirmations.start()
      const paid = await answer
      expect([paid.status, paid.status === 409 ? paid.body.code : 'RESERVATION_EXPIRED']).toEqual([paid.status === 202 ? 202 : 409, 'RESERVATION_EXPIRED'])
      const paymentId = paymentIdOf(paid)
      const read = await eventually(async () => (await brief.call('GET', `/api/payments/${paymentId}`, member.token)).body, (p) => p.status !== 'PENDING', { what: 'the payment to end' })
      expect(read).toMatchObject({ status: 'REFUNDED', reason: 'RESERVATION_EXPIRED', amount: 10_000 })
      expect(await balance(brief, member)).toBe(10_000)
      expect(await ledger(brief, member)).toEqual([['CHARGE', 10_000, null], ['PAYMENT', -10_000, paymentId], ['REFUND', 10_000, paymentId]])
      expect((await reservation(brief, member, reservationId)).status).toBe('EXPIRED')
    })

    it('a confirmed seat stays RESERVED after its hold’s time has passed; paying for an expired hold takes nothing', async () => {
      const { concertId, performanceId } = await brief.performance(5, 10_000)
      const member = await charged(brief, 20_000, concertId)
      const [sold, lapsed] = [await holdSeat(brief, member, performanceId, 1), await holdSeat(brief, member, performanceId, 2)]
      expect((await pay(brief, member, sold)).status).toBe(201)
      // A payment completes its payer's queue token: to pay again, the member queues again.
      const used = brief.queueToken(member)!
      await eventually(async () => (await brief.call('GET', `/api/queue/${used}`, undefined)).body.status, (s) => s === 'COMPLETED', { what: 'the payer’s token to complete' })
      await brief.admit(concertId, member)
      await eventually(async () => (await reservation(brief, member, lapsed)).status, (s) => s === 'EXPIRED', { what: 'the other hold to expire' })
      const late = await pay(brief, member, lapsed)
      expect([late.status, late.body.code]).toEqual([409, 'RESERVATION_EXPIRED'])
      expect((await reservation(brief, member, sold)).status).toBe('CONFIRMED')
      const seats = await seatsAs(brief, concertId, performanceId)
      expect(seats.slice(0, 2).map((s) => s.status)).toEqual(['RESERVED', 'AVAILABLE'])
      expect(await balance(brief, member)).toBe(10_000)
    })
  })
}
