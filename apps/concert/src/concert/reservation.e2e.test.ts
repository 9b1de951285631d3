import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import { randomUUID } from 'node:crypto'
import { concertOverHttp, type ConcertOverHttp, type Member } from '../test-kit/concert-over-http'
import { CONCERT_SCHEMA } from './concert.service'
import { ReservationRepository } from './reservation.repository'

for (const engine of await testEngines()) {
  describe(`seats and holds over HTTP on ${engine.name}`, () => {
    let app: ConcertOverHttp
    /** Holds last 1.5 s here: the expiry tests wait for them. */
    let brief: ConcertOverHttp
    beforeAll(async () => {
      const waitingRoom = { activeCapacity: 5_000 }
      ;[app, brief] = await Promise.all([concertOverHttp(engine, { crowd: true, waitingRoom }), concertOverHttp(engine, { crowd: true, holdTtlMs: 1_500, waitingRoom })])
    })
    afterAll(async () => {
      await app?.close()
      await brief?.close()
    })

    const seats = async (on: ConcertOverHttp, member: Member, performanceId: string) => {
      const answer = await on.call('GET', `/api/performances/${performanceId}/seats`, member.token)
      expect(answer.status).toBe(200)
      return answer.body.seats as Array<{ seatNo: number; price: number; status: string }>
    }
    const available = async (on: ConcertOverHttp, concertId: string) =>
      ((await on.call('GET', `/api/concerts/${concertId}`, undefined)).body.performances as Array<{ availableSeats: number }>)[0]!.availableSeats

    it('1,000 members on 50 seats at once: exactly 50 holds, one a seat, the rest SEAT_TAKEN', async () => {
      const { concertId, performanceId } = await app.performance(50, 30_000)
      const members = await app.crowd(1_000)
      await Promise.all(members.map((m) => app.admit(concertId, m)))
      const answers = await Promise.all(members.map((m, i) => app.call('POST', '/api/reservations', m.token, { performanceId, seatNo: (i % 50) + 1 })))
      const holds = answers.filter((a) => a.status === 201)
      expect(holds).toHaveLength(50)
      expect(new Set(holds.map((h) => h.body.seatNo)).size).toBe(50)
      expect(answers.filter((a) => a.status !== 201).map((a) => [a.status, a.body.code])).toEqual(Array.from({ length: 950 }, () => [409, 'SEAT_TAKEN']))
      expect(holds[0]!.body).toMatchObject({ performanceId, price: 30_000, status: 'HELD' })
      expect(holds.every((h) => /^concert\.concert@/.test(h.headers.get('tidings-position') ?? ''))).toBe(true)
      expect((await seats(app, members[0]!, performanceId)).map((s) => s.status)).toEqual(Array.from({ length: 50 }, () => 'HELD'))
      expect(await available(app, concertId)).toBe(0)
    }, 180_000) // a thousand members over HTTP: on a loaded 2-core machine, beside other suites, well over a minute

    it('a member holds at most four seats of a performance, even asking for six at once', async () => {
      const { concertId, performanceId } = await app.performance(20, 10_000)
      const [member] = await app.crowd(1)
      await app.admit(concertId, member!)
      const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((seatNo) => app.call('POST', '/api/reservations', member!.token, { performanceId, seatNo })))
      expect(answers.filter((a) => a.status === 201)).toHaveLength(4)
      expect(answers.filter((a) => a.status === 409).map((a) => a.body.code)).toEqual(['HOLD_LIMIT', 'HOLD_LIMIT'])
      // Giving one back makes room for another.
      const first = answers.find((a) => a.status === 201)!.body.reservationId as string
      expect((await app.call('DELETE', `/api/reservations/${first}`, member!.token)).status).toBe(200)
      const taken = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.seatNo))
      const free = [1, 2, 3, 4, 5, 6].find((n) => !taken.has(n))!
      expect((await app.call('POST', '/api/reservations', member!.token, { performanceId, seatNo: free })).status).toBe(201)
    })

    it('the holder reads and cancels it (the seat is free again), once; anyone else finds nothing', async () => {
      const { concertId, performanceId } = await app.performance(10, 10_000)
      const [holder, other] = await app.crowd(2)
      await app.admit(concertId, holder!, other!)
      const held = await app.call('POST', '/api/reservations', holder!.token, { performanceId, seatNo: 3 })
      const path = `/api/reservations/${held.body.reservationId as string}`
      expect(await available(app, concertId)).toBe(9)
      for (const method of ['GET', 'DELETE']) expect([method, (await app.call(method, path, other!.token)).body.code]).toEqual([method, 'RESERVATION_NOT_FOUND'])
      expect((await app.call('GET', path, holder!.token)).body).toMatchObject({ seatNo: 3, status: 'HELD' })
      expect((await app.call('DELETE', path, holder!.token)).body).toMatchObject({ status: 'CANCELED' })
      expect(await available(app, concertId)).toBe(10)
      expect((await seats(app, holder!, performanceId))[2]!.status).toBe('AVAILABLE')
      const again = await app.call('DELETE', path, holder!.token)
      expect([again.status, again.body.code]).toEqual([409, 'RESERVATION_ALREADY_CANCELED'])
      expect((await app.call('POST', '/api/reservations', other!.token, { performanceId, seatNo: 3 })).status).toBe(201)
      // What the payment service reads of many at once (the batch internal route): those that exist, in one statement.
      const repository = new ReservationRepository(CONCERT_SCHEMA)
      const found = await repository.findMany(app.db, [held.body.reservationId as string, randomUUID()])
      expect(found.map((r) => [r.reservationId, r.status])).toEqual([[held.body.reservationId, 'CANCELED']])
    })

    it('a hold expires by its scheduled message: the seat is AVAILABLE again', async () => {
      const { concertId, performanceId } = await brief.performance(5, 10_000)
      const [member] = await brief.crowd(1)
      await brief.admit(concertId, member!)
      const held = await brief.call('POST', '/api/reservations', member!.token, { performanceId, seatNo: 5 })
      expect(Date.parse(held.body.holdExpiresAt as string) - Date.now()).toBeLessThanOrEqual(1_500)
      const path = `/api/reservations/${held.body.reservationId as string}`
      await eventually(async () => (await brief.call('GET', path, member!.token)).body.status, (s) => s === 'EXPIRED', { what: 'the hold to expire' })
      expect((await seats(brief, member!, performanceId))[4]!.status).toBe('AVAILABLE')
      expect(await available(brief, concertId)).toBe(5)
      const cancel = await brief.call('DELETE', path, member!.token)
      expect([cancel.status, cancel.body.code]).toEqual([409, 'RESERVATION_NOT_HELD'])
    })

    it('is for members ACTIVE in the concert’s waiting room: no Queue-Token 401, another’s, a waiting one or another concert’s 403', async () => {
      const { concertId, performanceId } = await app.performance(10, 10_000)
      const other = await app.performance(10, 10_000)
      const [member, stranger, elsewhere] = await app.crowd(3)
      const [strangerToken] = await app.admit(concertId, stranger!)
      const [elsewhereToken] = await app.admit(other.concertId, elsewhere!)
      const hold = (who: Member, headers: Record<string, string>) => app.call('POST', '/api/reservations', who.token, { performanceId, seatNo: 1 }, headers)
      const seatsOf = (who: Member, headers: Record<string, string>) => app.call('GET', `/api/performances/${performanceId}/seats`, who.token, undefined, headers)
      for (const ask of [hold, seatsOf]) {
        expect([(await ask(member!, {})).status, (await ask(member!, {})).body.code]).toEqual([401, 'QUEUE_TOKEN_REQUIRED'])
        for (const token of [strangerToken!, 'A'.repeat(32), 'not a token']) expect((await ask(member!, { 'Queue-Token': token })).body.code).toBe('QUEUE_TOKEN_NOT_ACTIVE')
        expect((await ask(elsewhere!, { 'Queue-Token': elsewhereToken! })).body.code).toBe('QUEUE_TOKEN_NOT_ACTIVE')
      }
      const [mine] = await app.admit(concertId, member!)
      expect((await hold(member!, { 'Queue-Token': mine! })).status).toBe(201)
    })

    it('refuses bad input with a 4xx and its code, and callers without a token', async () => {
      const { concertId, performanceId } = await app.performance(10, 10_000)
      const [member] = await app.crowd(1)
      await app.admit(concertId, member!)
      const cases: Array<[unknown, number, string]> = [
        [{ performanceId, seatNo: 11 }, 404, 'SEAT_NOT_FOUND'],
        [{ performanceId: '00000000-0000-7000-8000-000000000000', seatNo: 1 }, 404, 'PERFORMANCE_NOT_FOUND'],
        [{ performanceId, seatNo: 0 }, 400, 'VALIDATION'],
        [{ performanceId, seatNo: '1' }, 400, 'VALIDATION'],
        [{ performanceId: 'x', seatNo: 1 }, 400, 'VALIDATION'],
        [{ performanceId, seatNo: 1, price: 1 }, 400, 'VALIDATION'],
        ['{"performanceId":', 400, 'MALFORMED_JSON'],
      ]
      for (const [body, status, code] of cases) {
        const answer = await app.call('POST', '/api/reservations', member!.token, body)
        expect([body, answer.status, answer.body.code]).toEqual([body, status, code])
      }
      expect((await app.call('POST', '/api/reservations', undefined, { performanceId, seatNo: 1 })).status).toBe(401)
      expect((await app.call('GET', `/api/performances/${performanceId}/seats`, undefined)).status).toBe(401)
      expect((await app.call('GET', '/api/performances/00000000-0000-7000-8000-000000000000/seats', member!.token)).body.code).toBe('PERFORMANCE_NOT_FOUND')
      expect((await seats(app, member!, performanceId)).every((s) => s.status === 'AVAILABLE')).toBe(true)
    })
  })
}
