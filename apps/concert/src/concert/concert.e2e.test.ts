import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strangerToken } from '@tidings/auth/test-kit'
import { testEngines } from '@tidings/testing'
import { concertOverHttp, OPERATOR_SECRET, type ConcertOverHttp } from '../test-kit/concert-over-http'

const plan = (title = 'Spring Tour') => ({
  title,
  salesOpenAt: '2027-03-01T10:00:00+09:00',
  performances: [
    { startsAt: '2027-04-02T19:00:00+09:00', seatCount: 50, price: 80_000 },
    { startsAt: '2027-04-01T19:00:00+09:00', seatCount: 3, price: 120_000 },
  ],
})

for (const engine of await testEngines()) {
  describe(`the concert catalog over HTTP on ${engine.name}`, () => {
    let app: ConcertOverHttp
    beforeAll(async () => {
      app = await concertOverHttp(engine)
    })
    afterAll(() => app?.close())

    it('an operator schedules a concert; anyone lists it with every seat available, performances in the order they start', async () => {
      const created = await app.call('POST', '/api/concerts', OPERATOR_SECRET, plan())
      expect(created.status).toBe(201)
      expect(created.headers.get('tidings-position')).toMatch(/^concert\.concert@/)
      const concertId = created.body.concertId as string
      expect(created.body).toMatchObject({ title: 'Spring Tour', salesOpenAt: '2027-03-01T01:00:00.000Z' })
      const shown = await app.call('GET', `/api/concerts/${concertId}`, undefined)
      expect(shown.status).toBe(200)
      expect(shown.body.performances).toEqual([
        expect.objectContaining({ startsAt: '2027-04-01T10:00:00.000Z', seatCount: 3, price: 120_000, availableSeats: 3 }),
        expect.objectContaining({ startsAt: '2027-04-02T10:00:00.000Z', seatCount: 50, price: 80_000, availableSeats: 50 }),
      ])
      const listed = await app.call('GET', '/api/concerts', undefined)
      expect((listed.body.items as Array<{ concertId: string }>).map((c) => c.concertId)).toContain(concertId)
    })

    it('a member with the operator role may schedule; a member without it, a forger or nobody may not', async () => {
      const [operator, member] = [await app.member('op', ['operator']), await app.member('fan')]
      expect((await app.call('POST', '/api/concerts', operator.token, plan('By a member'))).status).toBe(201)
      const refused = await app.call('POST', '/api/concerts', member.token, plan('By a fan'))
      expect([refused.status, refused.body.code]).toEqual([403, 'ROLE_REQUIRED'])
      expect((await app.call('POST', '/api/concerts', await strangerToken(operator.id, { roles: ['operator'] }), plan('Forged'))).status).toBe(401)
      expect((await app.call('POST', '/api/concerts', undefined, plan('Anonymous'))).status).toBe(401)
      expect((await app.call('POST', '/api/concerts', 'not-the-secret-but-long-enough', plan('Guess'))).status).toBe(401)
      const titles = ((await app.call('GET', '/api/concerts', undefined)).body.items as Array<{ title: string }>).map((c) => c.title)
      expect(titles).toContain('By a member')
      expect(titles.filter((t) => ['By a fan', 'Forged', 'Anonymous', 'Guess'].includes(t))).toEqual([])
    })

    it('refuses bad plans with 400 and a stable code, scheduling nothing', async () => {
      const before = ((await app.call('GET', '/api/concerts?limit=100', undefined)).body.items as unknown[]).length
      const perf = plan().performances[0]!
      const bad: unknown[] = [
        { ...plan(), title: '' },
        { ...plan(), title: '   ' },
        { ...plan(), title: 'a\u202Eb' },
        { ...plan(), title: 'x'.repeat(201) },
        { ...plan(), performances: [] },
        { ...plan(), performances: Array.from({ length: 21 }, () => perf) },
        { ...plan(), performances: [{ ...perf, seatCount: 0 }] },
        { ...plan(), performances: [{ ...perf, seatCount: 10_001 }] },
        { ...plan(), performances: [{ ...perf, seatCount: 2.5 }] },
        { ...plan(), performances: [{ ...perf, price: 0 }] },
        { ...plan(), performances: [{ ...perf, price: -100 }] },
        { ...plan(), performances: [{ ...perf, price: '100' }] },
        { ...plan(), performances: [{ ...perf, startsAt: 'tomorrow' }] },
        { ...plan(), performances: [{ ...perf, startsAt: '0001-01-01T00:00:00Z' }] },
        { ...plan(), performances: [{ ...perf, startsAt: '2027-04-01T19:00:00' }] },
        { ...plan(), salesOpenAt: '2027-02-30T00:00:00Z' },
        { ...plan(), salesOpenAt: '2027-04-01T10:00:00Z' }, // the first performance's start: sales must open before it
        { ...plan(), performances: [{ ...perf, startsAt: '2020-01-01T19:00:00Z' }] }, // in the past
        { ...plan(), performances: Array.from({ length: 3 }, () => ({ ...perf, seatCount: 10_000 })) }, // 30,000 seats together
        { ...plan(), extra: true },
        [],
      ]
      for (const body of bad) {
        const answer = await app.call('POST', '/api/concerts', OPERATOR_SECRET, body)
        expect(answer.status, JSON.stringify(body).slice(0, 120)).toBe(400)
        expect(answer.body.code).toBe('VALIDATION')
      }
      expect(((await app.call('GET', '/api/concerts?limit=100', undefined)).body.items as unknown[]).length).toBe(before)
    })

    it('lists concerts still to come in the order they begin, page by page', async () => {
      const fresh = await concertOverHttp(engine)
      try {
        const starts = ['2027-06-03T10:00:00Z', '2027-06-01T10:00:00Z', '2027-06-02T10:00:00Z']
        for (const [i, startsAt] of starts.entries()) {
          expect((await fresh.call('POST', '/api/concerts', OPERATOR_SECRET, { title: `Show ${i}`, performances: [{ startsAt, seatCount: 1, price: 1 }] })).status).toBe(201)
        }
        const titles: string[] = []
        for (let after: string | null = ''; after !== null; ) {
          const page = await fresh.call('GET', `/api/concerts?limit=2${after ? `&after=${after}` : ''}`, undefined)
          titles.push(...(page.body.items as Array<{ title: string }>).map((c) => c.title))
          after = page.body.nextCursor as string | null
        }
        expect(titles).toEqual(['Show 1', 'Show 2', 'Show 0'])
      } finally {
        await fresh.close()
      }
    })

    it('answers 404 for an unknown concert and 400 for what is not an id', async () => {
      const unknown = await app.call('GET', '/api/concerts/01890000-0000-7000-8000-000000000000', undefined)
      expect([unknown.status, unknown.body.code]).toEqual([404, 'CONCERT_NOT_FOUND'])
      expect((await app.call('GET', '/api/concerts/nope', undefined)).status).toBe(400)
      expect((await app.call('GET', '/api/concerts?limit=0', undefined)).status).toBe(400)
    })
  })
}
