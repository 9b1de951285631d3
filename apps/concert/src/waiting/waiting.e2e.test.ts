import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import { concertOverHttp, type Answer, type ConcertOverHttp, type Member } from '../test-kit/concert-over-http'

interface View {
  token: string
  status: string
  position: number | null
  estimatedWaitSeconds: number | null
  activeUntil: string | null
}

for (const engine of await testEngines()) {
  describe(`the waiting room over HTTP on ${engine.name}`, () => {
    /** One place; tokens live as long as by default. */
    let app: ConcertOverHttp
    /** One place, tokens active for 1.5 s, waiters idle after 4 s, a tick every 100 ms. */
    let brisk: ConcertOverHttp
    beforeAll(async () => {
      ;[app, brisk] = await Promise.all([
        concertOverHttp(engine, { crowd: true, waitingRoom: { activeCapacity: 1 } }),
        concertOverHttp(engine, { crowd: true, waitingRoom: { activeCapacity: 1, activeTtlMs: 1_500, waitingIdleMs: 4_000, admitIntervalMs: 100 } }),
      ])
    })
    afterAll(async () => {
      await app?.close()
      await brisk?.close()
    })

    const join = (concertId: string, member: Member, on = app) => on.call('POST', `/api/concerts/${concertId}/queue`, member.token)
    const status = async (token: string, on = app) => (await on.call('GET', `/api/queue/${token}`, undefined)).body as unknown as View
    const viewOf = (answer: Answer) => answer.body as unknown as View

    it('the same member ten times at once: one token (201 once, then the same token)', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [member] = await app.crowd(1)
      const answers = await Promise.all(Array.from({ length: 10 }, () => join(concertId, member!)))
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201])
      expect(new Set(answers.map((a) => viewOf(a).token)).size).toBe(1)
      expect(viewOf(answers[0]!).token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    })

    it('1,000 members at once: one ACTIVE (capacity 1), the others WAITING at positions 1..999, no gaps or repeats', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const members = await app.crowd(1_000)
      const answers = await Promise.all(members.map((m) => join(concertId, m)))
      expect(answers.every((a) => a.status === 201)).toBe(true)
      const views = await Promise.all(answers.map((a) => status(viewOf(a).token)))
      expect(views.filter((v) => v.status === 'ACTIVE')).toHaveLength(1)
      const positions = views.filter((v) => v.status === 'WAITING').map((v) => v.position!).sort((a, b) => a - b)
      expect(positions).toEqual(Array.from({ length: 999 }, (_, i) => i + 1))
      expect(new Set(answers.map((a) => viewOf(a).token)).size).toBe(1_000)
      // Positions never go up: after the first 100 leave, everyone moved up by as many as left before them.
      const order = views.map((v, i) => ({ v, member: members[i]! })).filter(({ v }) => v.status === 'WAITING').sort((x, y) => x.v.position! - y.v.position!)
      for (const { v, member } of order.slice(0, 100)) expect((await app.call('DELETE', `/api/queue/${v.token}`, member.token)).status).toBe(200)
      const after = await Promise.all(order.slice(100).map(({ v }) => status(v.token)))
      expect(after.map((v) => v.position)).toEqual(Array.from({ length: 899 }, (_, i) => i + 1))
    }, 180_000) // a thousand members over HTTP: on a loaded 2-core machine, beside other suites, well over a minute

    it('capacity 1: the first is ACTIVE, the rest WAITING in arrival order; when the first leaves, the next is admitted and the others move up', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [a, b, c] = await app.crowd(3)
      const first = viewOf(await join(concertId, a!))
      expect([first.status, first.position, first.activeUntil !== null]).toEqual(['ACTIVE', null, true])
      const second = viewOf(await join(concertId, b!))
      const third = viewOf(await join(concertId, c!))
      expect([second.status, second.position, third.status, third.position]).toEqual(['WAITING', 1, 'WAITING', 2])
      expect((await app.call('DELETE', `/api/queue/${first.token}`, b!.token)).body.code).toBe('QUEUE_TOKEN_NOT_FOUND') // not b's to end
      expect((await app.call('DELETE', `/api/queue/${first.token}`, a!.token)).body).toMatchObject({ status: 'EXPIRED' })
      expect(await status(second.token)).toMatchObject({ status: 'ACTIVE', position: null })
      expect(await status(third.token)).toMatchObject({ status: 'WAITING', position: 1 })
      const again = viewOf(await join(concertId, a!))
      expect([again.status, again.position, again.token === first.token]).toEqual(['WAITING', 2, false])
    })
    it('a status poll is answered before the app exactly as the app answers it: the view, or the problem of an unknown token', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [a, b] = await app.crowd(2)
      await join(concertId, a!)
      const waiting = viewOf(await join(concertId, b!))
      const unknown = 'A'.repeat(32)
      const shown = (answer: Answer) => [answer.status, answer.headers.get('content-type'), answer.headers.get('cache-control'), answer.headers.get('x-content-type-options'), answer.body]
      for (const token of [waiting.token, unknown]) {
        // The fast path takes the bare path; a query sends the same request to the app's route.
        const [fast, routed] = [await app.call('GET', `/api/queue/${token}`, undefined), await app.call('GET', `/api/queue/${token}?via=app`, undefined)]
        expect(shown(fast)).toEqual(shown(routed))
      }
      expect((await app.call('GET', `/api/queue/${waiting.token}`, undefined)).body).toMatchObject({ status: 'WAITING', position: 1 })
      expect((await app.call('GET', `/api/queue/${unknown}`, undefined)).body).toMatchObject({ code: 'QUEUE_TOKEN_NOT_FOUND' })
    })


    it('an ACTIVE token expires after its time, and the next one is admitted; a waiter who stops polling expires too', async () => {
      const { concertId } = await brisk.performance(10, 1_000)
      const [a, b, c] = await brisk.crowd(3)
      const first = viewOf(await join(concertId, a!, brisk))
      const second = viewOf(await join(concertId, b!, brisk))
      const idle = viewOf(await join(concertId, c!, brisk))
      expect(idle.position).toBe(2)
      // b keeps polling; c does not.
      const seen = await eventually(() => status(second.token, brisk), (v) => v.status === 'ACTIVE', { what: 'the second to be admitted', intervalMs: 200 })
      expect(seen.position).toBeNull()
      expect(await status(first.token, brisk)).toMatchObject({ status: 'EXPIRED' })
      // Read from the store, not the route: reading it there would count as c being present.
      const stored = async () => (await brisk.db.query<{ status: string }>(`SELECT status FROM concert_waiting.tokens WHERE token = $1`, [idle.token])).rows[0]!.status
      await eventually(stored, (s) => s === 'EXPIRED', { what: 'the idle waiter to expire' })
      expect((await status(idle.token, brisk)).status).toBe('EXPIRED')
    })

    it('a completed payment ends the payer’s token COMPLETED and admits the next one', async () => {
      const { concertId, performanceId } = await app.performance(10, 1_000)
      const [payer, next] = await app.crowd(2)
      const paying = viewOf(await join(concertId, payer!))
      const waiting = viewOf(await join(concertId, next!))
      expect([paying.status, waiting.status]).toEqual(['ACTIVE', 'WAITING'])
      await app.call('POST', '/api/wallet/charges', payer!.token, { amount: 1_000 })
      const held = await app.call('POST', '/api/reservations', payer!.token, { performanceId, seatNo: 1 }, { 'Queue-Token': paying.token })
      const paid = await app.call('POST', '/api/payments', payer!.token, { reservationId: held.body.reservationId }, { 'Idempotency-Key': `wait-${paying.token}`, 'Queue-Token': paying.token })
      expect(paid.status).toBe(201)
      await eventually(() => status(paying.token), (v) => v.status === 'COMPLETED', { what: 'the payer’s token to complete' })
      // The place is given out once the completion has committed (the inbox's afterCommit), so a moment later.
      await eventually(() => status(waiting.token), (v) => v.status === 'ACTIVE', { what: 'the next one to be admitted' })
    })

    it('members who join before sales open wait in a pre-queue, put in line in a random order when they open, ahead of later ones; no position goes up', async () => {
      const opensIn = 15_000
      const schedule = async () => {
        const salesOpenAt = new Date(Date.now() + opensIn).toISOString()
        const startsAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString()
        const scheduled = await app.call('POST', '/api/concerts', 'concert-kit-operator-secret', { title: 'Pre-sale', salesOpenAt, performances: [{ startsAt, seatCount: 10, price: 1_000 }] })
        expect(scheduled.status).toBe(201)
        return scheduled.body.concertId as string
      }
      const [first, second] = [await schedule(), await schedule()]
      const members = await app.crowd(200)
      /** All 200 join one concert's pre-queue at once: no places yet. */
      const lineOf = async (concertId: string) => {
        const early = (await Promise.all(members.map((member) => join(concertId, member)))).map(viewOf)
        expect(early.every((v) => v.status === 'WAITING' && v.position === null)).toBe(true)
        return early
      }
      const [earlyFirst, earlySecond] = await Promise.all([lineOf(first), lineOf(second)])
      const [late] = await app.crowd(1)
      const opened = await eventually(() => Promise.all(earlyFirst.map((v) => status(v.token))), (views) => views.every((v) => v.status !== 'WAITING' || v.position !== null), {
        what: 'sales to open',
        timeoutMs: 30_000,
        intervalMs: 500,
      })
      const lateView = viewOf(await join(first, late!))
      expect(lateView.position).toBe(200) // behind the 199 still waiting (one was admitted)
      // Every place 1..199 once, and one ACTIVE.
      const positions = opened.map((v) => (v.status === 'ACTIVE' ? 0 : v.position!))
      expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i))
      // Another concert's pre-queue, joined by the same members at the same moment, gets another order.
      const secondLine = await eventually(() => Promise.all(earlySecond.map((v) => status(v.token))), (views) => views.every((v) => v.status !== 'WAITING' || v.position !== null), { what: 'the second concert to open', timeoutMs: 30_000, intervalMs: 500 })
      expect(secondLine.map((v) => v.position)).not.toEqual(opened.map((v) => v.position))
      // Positions never go up: read again, each is where it was or ahead.
      const again = await Promise.all(earlyFirst.map((v) => status(v.token)))
      again.forEach((v, i) => expect(v.status === 'ACTIVE' || v.position! <= positions[i]!).toBe(true))
    }, 90_000)

    it('refuses what is not a token, a concert or a member: 4xx with a code', async () => {
      const [member] = await app.crowd(1)
      expect((await app.call('GET', `/api/queue/${'A'.repeat(32)}`, undefined)).body.code).toBe('QUEUE_TOKEN_NOT_FOUND')
      expect((await app.call('GET', '/api/queue/short', undefined)).status).toBe(400)
      expect((await join('00000000-0000-7000-8000-000000000000', member!)).body.code).toBe('CONCERT_NOT_FOUND')
      expect((await app.call('POST', '/api/concerts/not-a-uuid/queue', member!.token)).status).toBe(400)
      expect((await app.call('POST', `/api/concerts/00000000-0000-7000-8000-000000000000/queue`, undefined)).status).toBe(401)
    })
  })
}
