import { describe, expect, it } from 'vitest'
import { Dispatcher, VersionConflict } from '@tidings/core'
import { testEngines } from '@tidings/testing'
import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'
import { recorded } from '../test-kit/recorded-database'
import { UnitOfWork } from './unit-of-work'

for (const engine of await testEngines()) {
  describe(`the unit of work on ${engine.name}`, () => {
    async function setUp(dispatcher?: Dispatcher<Queryable>) {
      const plain = await engine.db()
      const schema = await engine.freshSchema('uow')
      const s = schemaName(schema)
      await plain.query(`CREATE TABLE ${s}.items (id text PRIMARY KEY, n int NOT NULL)`)
      const { db, sent } = recorded(plain)
      const uow = new UnitOfWork({ db, schema, source: 'test.items', ...(dispatcher ? { dispatcher } : {}) })
      const item = (id: string, n: number) => ({ sql: `INSERT INTO ${s}.items (id, n) VALUES ($1, $2)`, params: [id, n] })
      const items = async () => (await plain.query<{ id: string; n: number }>(`SELECT id, n FROM ${s}.items ORDER BY id`)).rows.map((r) => [r.id, r.n])
      const events = async () => (await plain.query<{ key: string }>(`SELECT key FROM ${s}.outbox ORDER BY seq`)).rows.map((r) => r.key)
      return { uow, sent, s, item, items, events }
    }

    it('commits a command that only writes as one statement: its row and its event, no BEGIN, no COMMIT', async () => {
      const { uow, sent, item, items, events } = await setUp()
      const done = await uow.run(async (tx) => {
        tx.write(item('a', 1))
        tx.record({ type: 'test.Added', key: 'a', data: null, version: 1 })
      })
      expect(sent).toEqual(['WITH'])
      expect(done.token?.position).toBe(done.events[0]!.position)
      expect([await items(), await events()]).toEqual([[['a', 1]], ['a']])
    })

    it('is all or nothing in that one statement: an event refused (a version taken) leaves no row', async () => {
      const { uow, item, items, events } = await setUp()
      await uow.run(async (tx) => tx.record({ type: 'test.Added', key: 'k', data: null, version: 1 }))
      const again = uow.run(async (tx) => {
        tx.write(item('k', 2))
        tx.record({ type: 'test.Added', key: 'k', data: null, version: 1 })
      })
      await expect(again).rejects.toBeInstanceOf(VersionConflict)
      expect([await items(), await events()]).toEqual([[], ['k']])
    })

    it('begins the transaction with the first statement the work sends, and rolls it back when the work fails', async () => {
      const { uow, sent, item, items, events } = await setUp()
      await uow.run(async (tx) => {
        await tx.query('SELECT 1')
        tx.write(item('b', 1))
        tx.record({ type: 'test.Added', key: 'b', data: null, version: 1 })
      })
      expect(sent).toEqual(['BEGIN', 'tx SELECT', 'tx WITH'])
      sent.length = 0
      const failing = uow.run(async (tx) => {
        await tx.query(item('c', 1).sql, item('c', 1).params)
        throw new Error('refused after a write')
      })
      await expect(failing).rejects.toThrow('refused after a write')
      expect(sent).toEqual(['BEGIN', 'tx INSERT'])
      expect([await items(), await events()]).toEqual([[['b', 1]], ['b']])
    })

    it('sends nothing for a command that fails before it wrote', async () => {
      const { uow, sent, item } = await setUp()
      await expect(
        uow.run(async (tx) => {
          tx.write(item('d', 1))
          throw new Error('refused')
        }),
      ).rejects.toThrow('refused')
      expect(sent).toEqual([])
    })

    it('writes the row before in-transaction handlers, which may read it', async () => {
      const seen: unknown[] = []
      const dispatcher = new Dispatcher<Queryable>()
      const { uow, item, sent, s } = await setUp(dispatcher)
      dispatcher.inTransaction('test.Added', async (tx, e) => void seen.push((await tx.query<{ n: number }>(`SELECT n FROM ${s}.items WHERE id = $1`, [e.key])).rows[0]?.n))
      await uow.run(async (tx) => {
        tx.write(item('e', 5))
        tx.record({ type: 'test.Added', key: 'e', data: null, version: 1 })
      })
      expect(seen).toEqual([5])
      expect(sent).toEqual(['BEGIN', 'tx INSERT', 'tx SELECT', 'tx INSERT'])
    })
  })
}
