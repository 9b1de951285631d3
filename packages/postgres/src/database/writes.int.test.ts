import { describe, expect, it } from 'vitest'
import { testEngines } from '@tidings/testing'
import { runWrites, valuesList } from './writes'
import { schemaName } from './sql'

for (const engine of await testEngines()) {
  describe(`runWrites on ${engine.name}`, () => {
    async function table() {
      const db = await engine.db()
      const s = schemaName(await engine.freshSchema('w'))
      await db.query(`CREATE TABLE ${s}.t (id text PRIMARY KEY, a text, b int, c text[])`)
      await db.query(`CREATE TABLE ${s}.u (id text PRIMARY KEY, v int)`)
      return { db, s }
    }

    it('renumbers $1 … $11 of each write after the ones before it, arrays and casts included', async () => {
      const { db, s } = await table()
      const many = Array.from({ length: 11 }, (_, i) => `p${i + 1}`)
      await runWrites(db, [
        // eleven params: $1 and $10, $11 must not be confused when shifted
        { sql: `INSERT INTO ${s}.t (id, a, b) VALUES ($1, $10 || $11 || $2 || $3 || $4 || $5 || $6 || $7 || $8 || $9, $10::text::int)`, params: ['x', ...many.slice(1, 9), '10', '11'] },
        { sql: `INSERT INTO ${s}.t (id, a, c) SELECT unnest($1::text[]), $2, $3::text[]`, params: [['y', 'z'], 'yz', ['q', 'r']] },
        { sql: `INSERT INTO ${s}.u (id, v) VALUES ('k', 7)`, params: [] },
        { sql: `INSERT INTO ${s}.u (id, v) VALUES ($1, $1::text::int + $2)`, params: ['1', 1] },
      ])
      const { rows } = await db.query<{ id: string; a: string; b: number | null; c: string[] | null }>(`SELECT id, a, b, c FROM ${s}.t ORDER BY id`)
      expect(rows.map((r) => [r.id, r.a, r.b, r.c])).toEqual([
        ['x', '1011p2p3p4p5p6p7p8p9', 10, null],
        ['y', 'yz', null, ['q', 'r']],
        ['z', 'yz', null, ['q', 'r']],
      ])
      const u = await db.query<{ id: string; v: number }>(`SELECT id, v FROM ${s}.u ORDER BY id`)
      expect(u.rows.map((r) => [r.id, r.v])).toEqual([['1', 2], ['k', 7]])
    })

    it('valuesList numbers rows × columns from $1 with the casts asked for, for inserts and for updates from it', async () => {
      const { db, s } = await table()
      const rows = Array.from({ length: 12 }, (_, i) => [`r${i}`, `a${i}`, i * 10])
      const values = valuesList(rows, ['', '', 'int'])
      expect(values.sql.startsWith('($1, $2, $3::int), ($4, $5, $6::int)')).toBe(true)
      expect(values.sql.endsWith('($34, $35, $36::int)')).toBe(true)
      expect(values.params).toEqual(rows.flat())
      await runWrites(db, [{ sql: `INSERT INTO ${s}.t (id, a, b) VALUES ${values.sql}`, params: values.params }])
      const changes = valuesList([['r3', 'x', 1], ['r11', 'y', 2]], ['text', 'text', 'int'])
      await runWrites(db, [
        { sql: `UPDATE ${s}.t AS t SET a = v.a, b = t.b + v.b FROM (VALUES ${changes.sql}) AS v(id, a, b) WHERE t.id = v.id`, params: changes.params },
        { sql: `INSERT INTO ${s}.u (id, v) VALUES ($1, $2)`, params: ['after', 1] },
      ])
      const { rows: stored } = await db.query<{ id: string; a: string; b: number }>(`SELECT id, a, b FROM ${s}.t WHERE id IN ('r2', 'r3', 'r11') ORDER BY b`)
      expect(stored.map((r) => [r.id, r.a, r.b])).toEqual([['r2', 'a2', 20], ['r3', 'x', 31], ['r11', 'y', 112]])
    })

    it('nothing and one write: no statement and the write as it is', async () => {
      const { db, s } = await table()
      await runWrites(db, [])
      await runWrites(db, [{ sql: `INSERT INTO ${s}.u (id, v) VALUES ($1, $2)`, params: ['a', 1] }])
      expect((await db.query(`SELECT * FROM ${s}.u`)).rowCount).toBe(1)
    })

    it('all the writes of one call commit or fail together', async () => {
      const { db, s } = await table()
      await db.query(`INSERT INTO ${s}.u (id, v) VALUES ('dup', 0)`)
      await expect(
        runWrites(db, [
          { sql: `INSERT INTO ${s}.t (id) VALUES ($1)`, params: ['ok'] },
          { sql: `INSERT INTO ${s}.u (id, v) VALUES ($1, $2)`, params: ['dup', 1] },
        ]),
      ).rejects.toThrow()
      expect((await db.query(`SELECT * FROM ${s}.t`)).rowCount).toBe(0)
    })

    it('two writes of one row in one call: the second does not see the first (why the caller keeps them apart)', async () => {
      const { db, s } = await table()
      await db.query(`INSERT INTO ${s}.u (id, v) VALUES ('r', 0)`)
      await runWrites(db, [
        { sql: `UPDATE ${s}.u SET v = v + 1 WHERE id = $1`, params: ['r'] },
        { sql: `UPDATE ${s}.u SET v = v + 10 WHERE id = $1`, params: ['r'] },
      ])
      const { rows } = await db.query<{ v: number }>(`SELECT v FROM ${s}.u WHERE id = 'r'`)
      // Only one of the two updates takes effect (not 11).
      expect([1, 10]).toContain(rows[0]!.v)
    })
  })
}
