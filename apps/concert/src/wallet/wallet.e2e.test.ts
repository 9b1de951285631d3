import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strangerToken } from '@tidings/auth/test-kit'
import { testEngines } from '@tidings/testing'
import { concertOverHttp, type ConcertOverHttp, type Member } from '../test-kit/concert-over-http'

for (const engine of await testEngines()) {
  describe(`the wallet over HTTP on ${engine.name}`, () => {
    let app: ConcertOverHttp
    beforeAll(async () => {
      app = await concertOverHttp(engine)
    })
    afterAll(() => app?.close())

    const ledger = async (member: Member) => {
      const items: Array<{ entryId: string; type: string; amount: number; balanceAfter: number; reference: string | null }> = []
      for (let after: string | null = ''; after !== null; ) {
        const page = await app.call('GET', `/api/wallet/ledger?limit=7${after ? `&after=${after}` : ''}`, member.token)
        expect(page.status).toBe(200)
        items.push(...(page.body.items as typeof items))
        after = page.body.nextCursor as string | null
      }
      return items
    }

    it('300 concurrent charges of 500 on 1,000 → 151,000, and the ledger is one row per charge whose running sum is the balance', async () => {
      const member = await app.member('charger')
      expect((await app.call('POST', '/api/wallet/charges', member.token, { amount: 1_000 })).body).toEqual({ balance: 1_000 })
      const answers = await Promise.all(Array.from({ length: 300 }, () => app.call('POST', '/api/wallet/charges', member.token, { amount: 500 })))
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
      expect(new Set(answers.map((a) => a.body.balance)).size).toBe(300) // each saw its own balance after
      expect(answers.every((a) => /^concert\.wallet@/.test(a.headers.get('tidings-position') ?? ''))).toBe(true)
      const balance = await app.call('GET', '/api/wallet', member.token)
      expect([balance.body, balance.headers.get('cache-control')]).toEqual([{ balance: 151_000 }, 'no-store'])

      const items = await ledger(member)
      expect(items).toHaveLength(301)
      let running = 0
      for (const item of items) {
        running += item.amount
        expect(item).toMatchObject({ type: 'CHARGE', balanceAfter: running, reference: null })
      }
      expect(running).toBe(151_000)
    })

    it('a member sees only their own wallet; an empty one is 0', async () => {
      const [rich, poor] = [await app.member('rich'), await app.member('poor')]
      await app.call('POST', '/api/wallet/charges', rich.token, { amount: 7_000 })
      expect((await app.call('GET', '/api/wallet', poor.token)).body).toEqual({ balance: 0 })
      expect((await app.call('GET', '/api/wallet/ledger', poor.token)).body).toEqual({ items: [], nextCursor: null })
      expect((await app.call('GET', '/api/wallet', rich.token)).body).toEqual({ balance: 7_000 })
    })

    it('refuses a caller without a valid token: 401, nothing charged', async () => {
      const member = await app.member('victim')
      const forged = await strangerToken(member.id)
      for (const token of [undefined, forged, 'not-a-token']) {
        const answer = await app.call('POST', '/api/wallet/charges', token, { amount: 500 })
        expect(answer.status).toBe(401)
        expect((await app.call('GET', '/api/wallet', token)).status).toBe(401)
      }
      expect((await app.call('GET', '/api/wallet', member.token)).body).toEqual({ balance: 0 })
    })

    it('refuses bad amounts and bodies with a 4xx and a stable code, charging nothing', async () => {
      const member = await app.member('sloppy')
      const bodies: unknown[] = [{ amount: 0 }, { amount: -500 }, { amount: 10_000_001 }, { amount: 1.5 }, { amount: '500' }, {}, { amount: 500, extra: 1 }, [500], 'null', '{"amount":', `{"amount":${'9'.repeat(400)}}`]
      for (const body of bodies) {
        const answer = await app.call('POST', '/api/wallet/charges', member.token, body)
        expect(answer.status, JSON.stringify(body)).toBe(400)
        expect(typeof answer.body.code).toBe('string')
      }
      const huge = await app.call('POST', '/api/wallet/charges', member.token, JSON.stringify({ amount: 1, pad: 'x'.repeat(2_000_000) }))
      expect(huge.status).toBe(413)
      expect((await app.call('GET', '/api/wallet/ledger?limit=0', member.token)).status).toBe(400)
      expect((await app.call('GET', '/api/wallet/ledger?after=nope', member.token)).status).toBe(400)
      expect((await app.call('GET', '/api/wallet', member.token)).body).toEqual({ balance: 0 })
    })

    it('a charge sent again with its Idempotency-Key is charged once', async () => {
      const member = await app.member('retrier')
      const key = { 'idempotency-key': 'charge-1' }
      const [first, again] = [await app.call('POST', '/api/wallet/charges', member.token, { amount: 900 }, key), await app.call('POST', '/api/wallet/charges', member.token, { amount: 900 }, key)]
      expect([first.status, first.body, again.status, again.body]).toEqual([200, { balance: 900 }, 200, { balance: 900 }])
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect((await app.call('GET', '/api/wallet', member.token)).body).toEqual({ balance: 900 })
    })
  })
}
