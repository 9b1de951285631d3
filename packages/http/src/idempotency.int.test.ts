import { describe, expect, it } from 'vitest'
import { manualClock, type ManualClock } from '@tidings/core'
import { Housekeeping, UnitOfWork } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import { REPLAYED_HEADER } from './idempotency'
import { keyedDepositsApp, migrateDeposits } from './test-kit/keyed-deposits'

interface Answer {
  status: number
  body: { depositId?: string; balance?: number; at?: string; code?: string }
  position: string | null
  replayed: string | null
}

for (const engine of await testEngines()) {
  describe(`Idempotency-Key on a command route, on ${engine.name}`, () => {
    async function setup(options: { afterCommit?: () => void; frozen?: () => boolean; clock?: ManualClock; retentionMs?: number } = {}) {
      const db = await engine.db()
      const schema = await engine.freshSchema('idem')
      await migrateDeposits(db, schema)
      const uow = new UnitOfWork({ db, schema, source: 'test.deposits', clock: options.clock, idempotencyRetentionMs: options.retentionMs })
      const app = keyedDepositsApp({ uow, schema, ...options })
      const deposit = async (key: string | undefined, amount: number, { caller = 'ann', account = 'a1', path = '' } = {}): Promise<Answer> => {
        const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Caller': caller }
        if (key !== undefined) headers['Idempotency-Key'] = key
        const res = await app.request(`${path}/accounts/${account}/deposits`, { method: 'POST', headers, body: JSON.stringify({ amount }) })
        return { status: res.status, body: (await res.json()) as Answer['body'], position: res.headers.get('tidings-position'), replayed: res.headers.get(REPLAYED_HEADER) }
      }
      const deposits = async () => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.deposits`)).rows[0]!.n)
      const keyRows = async () => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.idempotency_keys`)).rows[0]!.n)
      return { db, schema, deposit, deposits, keyRows }
    }

    it('runs the command once per key: a retry gets the first answer again, marked as a replay', async () => {
      const { deposit, deposits } = await setup()
      const first = await deposit('k-1', 10)
      expect(first).toMatchObject({ status: 201, body: { balance: 10 }, replayed: null })
      expect(first.position).not.toBeNull()
      const again = await deposit('k-1', 10)
      expect(again).toEqual({ ...first, replayed: 'true' })
      expect(await deposits()).toBe(1)
      // Without a key, or with another, each request is its own command.
      expect((await deposit(undefined, 10)).body.balance).toBe(20)
      expect((await deposit('k-2', 10)).body.balance).toBe(30)
      expect(await deposits()).toBe(3)
    })

    it('refuses a key reused for another body or path (422), and keeps keys apart per caller', async () => {
      const { deposit, deposits } = await setup()
      await deposit('k-1', 10)
      expect(await deposit('k-1', 11)).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } })
      expect(await deposit('k-1', 10, { account: 'a2' })).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } })
      const bobs = await deposit('k-1', 10, { caller: 'bob' })
      expect(bobs).toMatchObject({ status: 201, replayed: null, body: { balance: 20 } })
      expect(await deposits()).toBe(2)
    })

    it('refuses a malformed key (400) and a missing one where the route requires it', async () => {
      const { deposit, deposits } = await setup()
      for (const bad of ['', '   ', 'x'.repeat(256), 'clé', 'tab\there']) expect(await deposit(bad, 10), JSON.stringify(bad)).toMatchObject({ status: 400, body: { code: 'IDEMPOTENCY_KEY_INVALID' } })
      expect(await deposit(undefined, 10, { path: '/required' })).toMatchObject({ status: 400, body: { code: 'IDEMPOTENCY_KEY_REQUIRED' } })
      expect(await deposits()).toBe(0)
      expect((await deposit('x'.repeat(255), 10, { path: '/required' })).status).toBe(201)
    })

    it('50 concurrent requests with one key: one effect; each answer is the first one or 409 IDEMPOTENCY_KEY_IN_USE', async () => {
      const { deposit, deposits, keyRows } = await setup()
      const answers = await Promise.all(Array.from({ length: 50 }, () => deposit('same', 7)))
      expect(await deposits()).toBe(1)
      const created = answers.filter((a) => a.status === 201)
      expect(created.length).toBeGreaterThanOrEqual(1)
      const original = created.find((a) => a.replayed === null)!
      expect(original).toBeDefined()
      for (const a of answers) {
        if (a.status === 201) expect({ ...a, replayed: null }).toEqual(original)
        else expect(a).toMatchObject({ status: 409, body: { code: 'IDEMPOTENCY_KEY_IN_USE' } })
      }
      // Once the first has finished, every retry is its answer.
      for (let i = 0; i < 3; i++) expect(await deposit('same', 7)).toEqual({ ...original, replayed: 'true' })
      expect(await keyRows()).toBe(1)
    })

    it('leaves nothing for a command that was refused: its retry runs anew', async () => {
      let frozen = true
      const { deposit, deposits, keyRows } = await setup({ frozen: () => frozen })
      expect(await deposit('k-1', 10)).toMatchObject({ status: 409, body: { code: 'ACCOUNT_FROZEN' } })
      expect(await keyRows()).toBe(0)
      frozen = false
      expect(await deposit('k-1', 10)).toMatchObject({ status: 201, replayed: null, body: { balance: 10 } })
      expect(await deposits()).toBe(1)
    })

    it('answers from the stored outcome when the answer was never given (committed, then the route failed)', async () => {
      let failOnce = true
      const { deposit, deposits } = await setup({
        afterCommit: () => {
          if (!failOnce) return
          failOnce = false
          throw new Error('the process died here')
        },
      })
      expect((await deposit('k-1', 10)).status).toBe(500)
      expect(await deposits()).toBe(1)
      const retry = await deposit('k-1', 10)
      expect(retry).toMatchObject({ status: 201, replayed: 'true', body: { balance: 10 } })
      // The result's Date came back as a Date: the route rendered it, and its replays give the same answer.
      expect(Date.parse(retry.body.at!)).not.toBeNaN()
      expect(await deposit('k-1', 10)).toEqual(retry)
      expect(await deposits()).toBe(1)
    })

    it('forgets a key after the retention: the command runs again, and housekeeping deletes old keys', async () => {
      const clock = manualClock('2026-01-01T10:00:00Z')
      const { db, schema, deposit, deposits, keyRows } = await setup({ clock, retentionMs: 60_000 })
      await deposit('k-1', 10)
      clock.advance(59_000)
      expect((await deposit('k-1', 10)).replayed).toBe('true')
      clock.advance(2_000)
      expect(await deposit('k-1', 10)).toMatchObject({ status: 201, replayed: null, body: { balance: 20 } })
      expect(await deposits()).toBe(2)
      await deposit('k-2', 10)
      expect(await keyRows()).toBe(2)
      const housekeeping = new Housekeeping({ db, producers: [schema], consumers: [], idempotencyRetentionMs: 60_000 })
      const purged = await housekeeping.runOnce()
      // Housekeeping reads the wall clock: both keys, stamped by the test's clock in the past, are gone.
      expect(purged.idempotencyKeys).toBe(2)
      expect(await keyRows()).toBe(0)
    })
  })
}
