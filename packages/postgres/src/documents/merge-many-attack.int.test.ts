import { describe, expect, it } from 'vitest'
import type { MergeChange } from '@tidings/core'
import { seededRandom, testEngines } from '@tidings/testing'
import type { Queryable } from '../database/database'
import { DocumentStore } from './document-store'

type Change = MergeChange<Record<string, unknown>> & { id: string }
type Setup = (store: DocumentStore, db: Queryable) => Promise<void>

/** Every row of the collection, tombstones included, as stored. */
async function rows(db: Queryable, schema: string): Promise<unknown[]> {
  const { rows } = await db.query(`SELECT id, body, versions, deleted FROM "${schema}".documents WHERE collection = 'posts' ORDER BY id`)
  return rows
}

for (const engine of await testEngines()) {
  describe(`mergeMany attacks on ${engine.name}`, () => {
    /** The same setup and changes, through `mergeMany` in one schema and `merge` one at a time in another. */
    async function both(setup: Setup, changes: readonly Change[]) {
      const db = await engine.db()
      const [many, one] = [await engine.freshSchema('mm'), await engine.freshSchema('m1')]
      const [manyStore, oneStore] = [new DocumentStore(many, 'posts'), new DocumentStore(one, 'posts')]
      await setup(manyStore, db)
      await setup(oneStore, db)
      const appliedMany = await db.transaction((tx) => manyStore.mergeMany(tx, changes))
      let appliedOne = 0
      await db.transaction(async (tx) => {
        for (const { id, ...change } of changes) if (await oneStore.merge(tx, id, change)) appliedOne++
      })
      return { many: { applied: appliedMany, rows: await rows(db, many) }, one: { applied: appliedOne, rows: await rows(db, one) } }
    }

    it('has the effect and the count of merging one at a time, over random lists (tombstones, stale versions, a source twice, empty sets)', async () => {
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
        const random = seededRandom(seed)
        const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!
        const ids = ['p1', 'p2', 'p3', 'p4']
        const sources = ['post', 'comment:a', 'member:m']
        const fields = ['title', 'a', 'm', 'shared']
        const setup: Setup = async (store, db) => {
          // p1 live, p2 a tombstone, p3 live with a newer comment, p4 absent.
          await store.merge(db, 'p1', { source: 'post', version: 2, set: { title: 'p1' } })
          await store.remove(db, 'p2', { source: 'post', version: 3 })
          await store.merge(db, 'p3', { source: 'comment:a', version: 4, set: { a: 'kept' } })
        }
        const changes: Change[] = Array.from({ length: 30 }, (_, n) => {
          const set: Record<string, unknown> = {}
          const width = Math.floor(random() * 3) // 0: an empty set
          for (let f = 0; f < width; f++) set[pick(fields)] = `${seed}.${n}`
          return { id: pick(ids), source: pick(sources), version: Math.floor(random() * 6), set }
        })
        const { many, one } = await both(setup, changes)
        expect({ seed, rows: many.rows }).toEqual({ seed, rows: one.rows })
        expect({ seed, applied: many.applied }).toEqual({ seed, applied: one.applied })
      }
    })

    // Found by this attack, fixed: an inherited Object.prototype member read for such a source (a function,
    // not nullish) kept the stored version from being consulted, so stale changes applied.
    it('guards a source whose name is also a property of every JS object (toString, constructor) by its stored version', async () => {
      const setup: Setup = async (store, db) => {
        await store.merge(db, 'p1', { source: 'toString', version: 5, set: { a: 'current' } })
        await store.merge(db, 'p1', { source: 'constructor', version: 5, set: { c: 'current' } })
      }
      const { many, one } = await both(setup, [
        { id: 'p1', source: 'toString', version: 3, set: { a: 'stale' } },
        { id: 'p1', source: 'constructor', version: 2, set: { c: 'stale' } },
        { id: 'p1', source: 'member:m', version: 1, set: { m: 'ann' } },
      ])
      expect(one).toMatchObject({ applied: 1, rows: [{ body: { a: 'current', c: 'current', m: 'ann' }, versions: { toString: 5, constructor: 5, 'member:m': 1 } }] })
      expect(many).toEqual(one)
    })

    // Found by this attack, fixed: `Object.assign` onto a plain object set its prototype instead of copying an
    // own `__proto__` field, which JSON.stringify then dropped.
    it("keeps a field named __proto__ (a body parsed from JSON) as merge does", async () => {
      const setup: Setup = async () => {}
      const { many, one } = await both(setup, [
        { id: 'p1', source: 'comment:a', version: 1, set: JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as Record<string, unknown> },
        { id: 'p1', source: 'member:m', version: 1, set: { m: 'ann' } },
      ])
      expect(one.rows).toMatchObject([{ body: { ['__proto__']: { x: 1 }, a: 1, m: 'ann' } }])
      expect(many).toEqual(one)
    })
  })
}
