import { describe, expect, it } from 'vitest'
import { uuidv7, type Envelope } from '@tidings/core'
import {
  addDeadLetter,
  claimMessages,
  countDeadLetters,
  countPending,
  duePendingMessages,
  listDeadLetters,
  postponePending,
  pruneInbox,
  settlePending,
  takeDeadLetter,
} from '@tidings/postgres'
import type { TestEngine } from '../engines'

/** The inbox and the dead-letter store, below the subscription that uses them. */
export function inboxContract(engine: TestEngine): void {
  describe(`inbox and dead letters on ${engine.name}`, () => {
    const message = (key: string, n = 0): Envelope => ({
      id: uuidv7(),
      type: 'test.Happened.v1',
      source: 'test',
      key,
      occurredAt: new Date().toISOString(),
      data: { n },
      meta: {},
    })

    it('claims a message once per consumer, whatever the duplicates in or across batches', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('inbox')
      const [a, b] = [message('k'), message('k')]
      const first = await db.transaction((tx) => claimMessages(tx, schema, 'c1', [a!, a!, b!], 'done'))
      expect([...first].sort()).toEqual([a!.id, b!.id].sort())
      const again = await db.transaction((tx) => claimMessages(tx, schema, 'c1', [b!, a!], 'done'))
      expect(again.size).toBe(0)
      const otherConsumer = await db.transaction((tx) => claimMessages(tx, schema, 'c2', [a!], 'done'))
      expect([...otherConsumer]).toEqual([a!.id])
    })

    it('a claim rolled back with its transaction leaves the message unclaimed', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('inbox')
      const m = message('k')
      await expect(
        db.transaction(async (tx) => {
          await claimMessages(tx, schema, 'c1', [m], 'done')
          throw new Error('handler failed')
        }),
      ).rejects.toThrow('handler failed')
      expect((await db.transaction((tx) => claimMessages(tx, schema, 'c1', [m], 'done'))).size).toBe(1)
    })

    it('hands out pending messages oldest first, one per key, holding a key back while its head waits for a retry', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('inbox')
      const [k1a, k1b, k2a] = [message('k1', 1), message('k1', 2), message('k2', 1)]
      await db.transaction((tx) => claimMessages(tx, schema, 'c', [k1a!, k1b!, k2a!], 'pending'))
      expect(await countPending(db, schema, 'c')).toBe(3)
      expect((await duePendingMessages(db, schema, 'c', 10)).map((p) => p.envelope.id)).toEqual([k1a!.id, k2a!.id])
      await postponePending(db, schema, 'c', k1a!.id, 60_000, 'try later')
      expect((await duePendingMessages(db, schema, 'c', 10)).map((p) => p.envelope.id)).toEqual([k2a!.id])
      expect(await db.transaction((tx) => settlePending(tx, schema, 'c', k2a!.id, 'done'))).toBe(true)
      expect(await db.transaction((tx) => settlePending(tx, schema, 'c', k2a!.id, 'done'))).toBe(false)
      await db.query(`UPDATE "${schema}".inbox SET next_attempt_at = now()`)
      const due = await duePendingMessages(db, schema, 'c', 10)
      expect(due.map((p) => [p.envelope.id, p.attempts])).toEqual([[k1a!.id, 1]])
      expect(due[0]!.envelope).toEqual(k1a)
    })

    it('keeps dead letters with their error until a replay takes each exactly once', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('inbox')
      const m = message('k', 7)
      await db.transaction((tx) => addDeadLetter(tx, schema, 'c', m, new TypeError('bad thing'), 5))
      expect(await countDeadLetters(db, schema)).toEqual(new Map([['c', 1]]))
      const [letter] = await listDeadLetters(db, schema, 'c')
      expect(letter).toMatchObject({ consumer: 'c', messageId: m.id, envelope: m, error: 'TypeError: bad thing', attempts: 5 })
      expect(await db.transaction((tx) => takeDeadLetter(tx, schema, 'other-consumer', letter!.id))).toBeUndefined()
      expect(await db.transaction((tx) => takeDeadLetter(tx, schema, 'c', 'not-a-number'))).toBeUndefined()
      const taken = await Promise.all([
        db.transaction((tx) => takeDeadLetter(tx, schema, 'c', letter!.id)),
        (await engine.connect()).transaction((tx) => takeDeadLetter(tx, schema, 'c', letter!.id)),
      ])
      expect(taken.filter(Boolean)).toHaveLength(1)
      expect(await listDeadLetters(db, schema, 'c')).toEqual([])
    })

    it('prunes old processed rows but never pending ones', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('inbox')
      await db.transaction((tx) => claimMessages(tx, schema, 'c', [message('a')], 'done'))
      await db.transaction((tx) => claimMessages(tx, schema, 'c', [message('b')], 'pending'))
      await db.query(`UPDATE "${schema}".inbox SET received_at = now() - interval '30 days'`)
      expect(await pruneInbox(db, schema, 7 * 24 * 3600_000)).toBe(1)
      expect(await countPending(db, schema, 'c')).toBe(1)
    })
  })
}
