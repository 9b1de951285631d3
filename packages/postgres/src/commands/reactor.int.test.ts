import { describe, expect, it } from 'vitest'
import { Dispatcher, uuidv7, type Envelope } from '@tidings/core'
import { testEngines } from '@tidings/testing'
import type { Queryable } from '../database/database'
import { reactor } from './reactor'
import { UnitOfWork } from './unit-of-work'

const message = (n: number): Envelope => ({ id: uuidv7(), type: 'test.Asked', source: 'test.in', key: `k${n}`, occurredAt: new Date().toISOString(), data: { n }, meta: {} })

for (const engine of await testEngines()) {
  describe(`reactor on ${engine.name}`, () => {
    it('a page applied together records each message’s events under its own cause, in one outbox append', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('react')
      const uow = new UnitOfWork({ db, schema, source: 'test.out' })
      const def = reactor(uow, { name: 'test.r', follows: ['test.in'], react: async (tx, m) => tx.record({ type: 'test.Answered', key: m.key, data: m.data }, { type: 'test.Also', key: m.key, data: null }) })
      const page = [message(1), message(2), message(3)]
      await db.transaction((tx) => def.handleBatch!(tx, page))
      const { rows } = await db.query<{ type: string; meta: { causationId: string } }>(`SELECT type, meta FROM "${schema}".outbox ORDER BY feed_xid, seq`)
      expect(rows.map((r) => [r.type, page.findIndex((m) => m.id === r.meta.causationId)])).toEqual([
        ['test.Answered', 0], ['test.Also', 0], ['test.Answered', 1], ['test.Also', 1], ['test.Answered', 2], ['test.Also', 2],
      ])
    })

    it('events of a page that rolled back are not reported after the commit of a later attempt that records none', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('react')
      const afterCommit: string[] = []
      const dispatcher = new Dispatcher<Queryable>().afterCommit('test.Answered', (e) => void afterCommit.push(e.id))
      const uow = new UnitOfWork({ db, schema, source: 'test.out', dispatcher })
      let answer = true // what the reaction depends on changes between the two attempts
      const def = reactor(uow, {
        name: 'test.r',
        follows: ['test.in'],
        react: async (tx, m) => {
          if (answer) tx.record({ type: 'test.Answered', key: m.key, data: m.data })
        },
      })
      const page = [message(1), message(2)]
      // As the processor does: the page's transaction fails after the batch was handled (a later chunk, the
      // checkpoint, the commit), then each message is applied alone and committed.
      await expect(
        db.transaction(async (tx) => {
          await def.handleBatch!(tx, page)
          throw new Error('the page fails after its first chunk')
        }),
      ).rejects.toThrow('the page fails')
      answer = false
      for (const m of page) {
        await db.transaction((tx) => def.handle(tx, m))
        def.afterCommit!([m])
      }
      await new Promise((resolve) => setImmediate(resolve))
      expect((await db.query(`SELECT 1 FROM "${schema}".outbox`)).rowCount).toBe(0)
      expect(afterCommit).toEqual([])
    })
  })
}
