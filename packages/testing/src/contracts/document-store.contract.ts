import { describe, expect, it } from 'vitest'
import { UnsupportedCharacter, type Documents } from '@tidings/core'
import { DocumentStore, type Queryable } from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { seededRandom } from '../scripted-feed'

interface OrderView {
  orderId: string
  customerId?: string
  orderStatus?: string
  paymentStatus?: string
  deliveryStatus?: string
}

/** Collections of one store; the same name always gives the same documents. */
export interface DocumentsNamespace {
  collection<D extends object = Record<string, unknown>>(name: string): Documents<D>
}

/** A fresh, empty namespace of a store, as `documentsContract` opens one for each test. */
export interface DocumentsFixture extends DocumentsNamespace {
  /** `n` more handles on the same namespace, each over a connection of its own, as separate processes would have. */
  connections(n: number): Promise<DocumentsNamespace[]>
}

/**
 * Read-model documents through the `Documents` port: merge upserts owned per source and guarded by that
 * source's version, tombstones, finds by containment paged by id. Every adapter runs it.
 */
export function documentsContract(name: string, open: () => Promise<DocumentsFixture>): void {
  describe(`documents on ${name}`, () => {
    async function setup() {
      const store = await open()
      return { store, views: store.collection<OrderView>('order-view') }
    }

    it('merges fields from several sources into one document', async () => {
      const { views } = await setup()
      await views.merge('o1', { source: 'order', version: 1, set: { orderId: 'o1', customerId: 'c1', orderStatus: 'PLACED' } })
      await views.merge('o1', { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      const doc = await views.get('o1')
      expect(doc?.body).toEqual({ orderId: 'o1', customerId: 'c1', orderStatus: 'PLACED', paymentStatus: 'PAID' })
      expect(doc?.versions).toEqual({ order: 1, payment: 1 })
      expect(doc?.updatedAt).toBeInstanceOf(Date)
      expect(Number.isNaN(doc?.updatedAt.getTime())).toBe(false)
    })

    it('never lets an older version of a source overwrite a newer one', async () => {
      const { views } = await setup()
      expect(await views.merge('o1', { source: 'order', version: 3, set: { orderStatus: 'SHIPPED' } })).toBe(true)
      expect(await views.merge('o1', { source: 'order', version: 2, set: { orderStatus: 'PAID' } })).toBe(false)
      expect(await views.merge('o1', { source: 'order', version: 3, set: { orderStatus: 'PAID' } })).toBe(false)
      expect((await views.get('o1'))?.body.orderStatus).toBe('SHIPPED')
      expect(await views.merge('o1', { source: 'order', version: 4, set: { orderStatus: 'DELIVERED' } })).toBe(true)
      expect((await views.get('o1'))?.body.orderStatus).toBe('DELIVERED')
    })

    it('takes concurrent first events from three sources without a duplicate key and without losing a field', async () => {
      const { store } = await setup()
      const handles = await store.connections(3)
      const stores = handles.map((handle) => handle.collection<OrderView>('order-view'))
      const ids = Array.from({ length: 200 }, (_, i) => `o${i}`)
      await Promise.all([
        Promise.all(ids.map((id) => stores[0]!.merge(id, { source: 'order', version: 1, set: { orderId: id, orderStatus: 'PLACED' } }))),
        Promise.all(ids.map((id) => stores[1]!.merge(id, { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } }))),
        Promise.all(ids.map((id) => stores[2]!.merge(id, { source: 'delivery', version: 1, set: { deliveryStatus: 'PREPARING' } }))),
      ])
      const views = store.collection<OrderView>('order-view')
      expect(await views.count()).toBe(200)
      for (const id of ids) {
        expect((await views.get(id))?.body).toEqual({ orderId: id, orderStatus: 'PLACED', paymentStatus: 'PAID', deliveryStatus: 'PREPARING' })
      }
    })

    it('mergeMany has the same effect as merging one change after another, duplicates and stale versions included', async () => {
      const { store } = await setup()
      const random = seededRandom(7)
      const changes = Array.from({ length: 400 }, (_, i) => {
        const id = `o${Math.floor(random() * 20)}`
        const source = ['order', 'payment', 'delivery'][Math.floor(random() * 3)]!
        const version = 1 + Math.floor(random() * 10)
        return { id, source, version, set: { [`${source}Status`]: `v${version}-${i}` } as Partial<OrderView> }
      })
      const oneByOne = store.collection<OrderView>('one-by-one')
      let appliedOneByOne = 0
      for (const change of changes) if (await oneByOne.merge(change.id, change)) appliedOneByOne++
      const batched = store.collection<OrderView>('batched')
      expect(await batched.mergeMany(changes.slice(0, 150))).toBeGreaterThan(0)
      const appliedRest = await batched.mergeMany(changes.slice(150))
      const all = async (collection: Documents<OrderView>) =>
        (await collection.find({}, { limit: 100 })).map((d) => ({ id: d.id, body: d.body, versions: d.versions }))
      expect(await all(batched)).toEqual(await all(oneByOne))
      expect(appliedOneByOne).toBeGreaterThan(appliedRest)
    })

    it('keeps a removed document removed when a late event arrives', async () => {
      const { views } = await setup()
      await views.merge('p1', { source: 'post', version: 1, set: { orderId: 'p1' } })
      expect(await views.remove('p1', { source: 'post', version: 3 })).toBe(true)
      expect(await views.merge('p1', { source: 'post', version: 2, set: { orderId: 'p1', orderStatus: 'late' } })).toBe(false)
      expect(await views.merge('p1', { source: 'comment:9', version: 1, set: { orderStatus: 'comment' } })).toBe(true)
      expect(await views.get('p1')).toBeUndefined()
      expect(await views.count()).toBe(0)
      // A removal that arrives before any other event leaves a tombstone too.
      expect(await views.remove('p2', { source: 'post', version: 5 })).toBe(true)
      expect(await views.merge('p2', { source: 'post', version: 1, set: { orderId: 'p2' } })).toBe(false)
      expect(await views.get('p2')).toBeUndefined()
      // A removal is guarded like any change: an equal or older version of its source is refused.
      expect(await views.remove('p2', { source: 'post', version: 5 })).toBe(false)
      expect(await views.remove('p2', { source: 'post', version: 6 })).toBe(true)
    })

    it('finds documents by containment, paged by id, and clears a collection', async () => {
      const { store, views } = await setup()
      for (let i = 0; i < 5; i++) {
        await views.merge(`o${i}`, { source: 'order', version: 1, set: { orderId: `o${i}`, customerId: i % 2 === 0 ? 'even' : 'odd' } })
      }
      const other = store.collection<OrderView>('other-view')
      await other.merge('o0', { source: 'order', version: 1, set: { orderId: 'x', customerId: 'even' } })
      const firstPage = await views.find({ customerId: 'even' }, { limit: 2 })
      expect(firstPage.map((d) => d.id)).toEqual(['o0', 'o2'])
      const secondPage = await views.find({ customerId: 'even' }, { limit: 2, afterId: 'o2' })
      expect(secondPage.map((d) => d.id)).toEqual(['o4'])
      await views.clear()
      expect(await views.count()).toBe(0)
      expect(await other.count()).toBe(1)
    })

    it('clears tombstones too: a rebuild can write what was removed before', async () => {
      const { views } = await setup()
      await views.merge('o1', { source: 'order', version: 1, set: { orderId: 'o1', customerId: 'c1' } })
      await views.remove('o1', { source: 'order', version: 2 })
      await views.merge('o2', { source: 'order', version: 1, set: { orderId: 'o2', customerId: 'c1' } })
      await views.clear()
      expect(await views.find({}, {})).toEqual([])
      expect(await views.idsHaving('customerId')).toEqual([])
      expect(await views.lacking(['o1', 'o2'], 'orderId')).toEqual(['o1', 'o2'])
      expect(await views.merge('o1', { source: 'order', version: 1, set: { orderId: 'o1', customerId: 'c2' } })).toBe(true)
      expect((await views.find({ customerId: 'c2' })).map((d) => d.id)).toEqual(['o1'])
      expect(await views.idsHaving('customerId')).toEqual(['o1'])
      await views.clear()
      await views.clear()
      expect(await views.count()).toBe(0)
    })

    it('finds in descending order, paged with beforeId, and between afterId and beforeId', async () => {
      const { store, views } = await setup()
      for (let i = 0; i < 5; i++) {
        await views.merge(`o${i}`, { source: 'order', version: 1, set: { orderId: `o${i}`, customerId: i % 2 === 0 ? 'even' : 'odd' } })
      }
      await store.collection<OrderView>('other-view').merge('o5', { source: 'order', version: 1, set: { customerId: 'even' } })
      await views.merge('o9', { source: 'order', version: 1, set: { customerId: 'even' } })
      await views.remove('o9', { source: 'order', version: 2 })
      const ids = async (where: Partial<OrderView>, options: Parameters<typeof views.find>[1]) => (await views.find(where, options)).map((d) => d.id)
      expect(await ids({}, { order: 'desc', limit: 2 })).toEqual(['o4', 'o3'])
      expect(await ids({}, { order: 'desc', limit: 2, beforeId: 'o3' })).toEqual(['o2', 'o1'])
      expect(await ids({}, { order: 'desc', limit: 2, beforeId: 'o1' })).toEqual(['o0'])
      expect(await ids({ customerId: 'even' }, { order: 'desc', beforeId: 'o4' })).toEqual(['o2', 'o0'])
      expect(await ids({}, { afterId: 'o0', beforeId: 'o4' })).toEqual(['o1', 'o2', 'o3'])
      expect(await ids({}, { order: 'asc' })).toEqual(await ids({}, {}))
      expect(await ids({}, {})).toEqual(['o0', 'o1', 'o2', 'o3', 'o4'])
    })

    it('finds only documents that have a top-level key, in either order and with containment', async () => {
      const { store, views } = await setup()
      await views.merge('o1', { source: 'order', version: 1, set: { orderId: 'o1', customerId: 'c1' } })
      await views.merge('o2', { source: 'order', version: 1, set: { orderId: 'o2', customerId: 'c1' } })
      await views.merge('o2', { source: 'delivery', version: 1, set: { deliveryStatus: 'PREPARING' } })
      await views.merge('o3', { source: 'delivery', version: 1, set: { deliveryStatus: 'SHIPPED' } })
      await views.merge('o4', { source: 'delivery', version: 1, set: { deliveryStatus: 'SHIPPED' } })
      await views.remove('o4', { source: 'delivery', version: 2 })
      const loose = store.collection<Record<string, unknown>>('order-view')
      await loose.merge('o5', { source: 'x', version: 1, set: { nested: { deliveryStatus: 'SHIPPED' } } })
      await loose.merge('o6', { source: 'x', version: 1, set: { deliveryStatus: null } }) // a key set to null is there
      await store.collection<OrderView>('other-view').merge('o7', { source: 'delivery', version: 1, set: { deliveryStatus: 'SHIPPED' } })
      const ids = async (where: Partial<OrderView>, options: Parameters<typeof views.find>[1]) => (await views.find(where, options)).map((d) => d.id)
      expect(await ids({}, { having: 'deliveryStatus' })).toEqual(['o2', 'o3', 'o6'])
      expect(await ids({}, { having: 'deliveryStatus', order: 'desc', limit: 2 })).toEqual(['o6', 'o3'])
      expect(await ids({ customerId: 'c1' }, { having: 'deliveryStatus' })).toEqual(['o2'])
      expect(await ids({ deliveryStatus: 'SHIPPED' }, { having: 'customerId' })).toEqual([])
      expect(await ids({}, { having: 'paymentStatus' })).toEqual([])
    })

    it('matches nested objects and arrays as JSON containment does', async () => {
      const { store } = await setup()
      const things = store.collection<Record<string, unknown>>('things')
      const bodies: Record<string, Record<string, unknown>> = {
        a: { tags: ['x', 'y'], meta: { n: 1, deep: { z: null } }, flag: true },
        b: { tags: [['x', 'y'], 'z'], meta: { n: 1.5 }, flag: false },
        c: { tags: [], meta: {}, flag: 'true' },
        d: { tags: [{ k: 1, l: 2 }], meta: [], flag: 1 },
        e: { tags: 'x', meta: { n: '1' }, flag: null },
      }
      for (const [id, set] of Object.entries(bodies)) await things.merge(id, { source: 's', version: 1, set })
      const ids = async (where: Record<string, unknown>) => (await things.find(where)).map((d) => d.id)
      expect(await ids({ tags: ['y'] })).toEqual(['a'])
      expect(await ids({ tags: ['y', 'x', 'x'] })).toEqual(['a'])
      expect(await ids({ tags: [['y']] })).toEqual(['b'])
      expect(await ids({ tags: [] })).toEqual(['a', 'b', 'c', 'd'])
      expect(await ids({ tags: 'x' })).toEqual(['e'])
      expect(await ids({ tags: [{ l: 2 }] })).toEqual(['d'])
      expect(await ids({ meta: {} })).toEqual(['a', 'b', 'c', 'e'])
      expect(await ids({ meta: [] })).toEqual(['d'])
      expect(await ids({ meta: { n: 1 } })).toEqual(['a'])
      expect(await ids({ meta: { deep: { z: null } } })).toEqual(['a'])
      expect(await ids({ meta: { deep: {} } })).toEqual(['a'])
      expect(await ids({ flag: true })).toEqual(['a'])
      expect(await ids({ flag: 1 })).toEqual(['d'])
      expect(await ids({ flag: null })).toEqual(['e'])
      expect(await ids({ flag: true, meta: { n: 1 }, tags: ['x'] })).toEqual(['a'])
      expect(await ids({ missing: null })).toEqual([])
    })

    it('pages through many documents that a filter mostly skips', async () => {
      const { store } = await setup()
      const many = store.collection<{ n: number; kind: string }>('many')
      const changes = Array.from({ length: 1_500 }, (_, i) => ({ id: `d${String(i).padStart(5, '0')}`, source: 's', version: 1, set: { n: i, kind: i % 250 === 7 ? 'rare' : 'common' } }))
      expect(await many.mergeMany(changes)).toBe(1_500)
      const rare = changes.filter((c) => c.set.kind === 'rare').map((c) => c.id)
      expect((await many.find({ kind: 'rare' }, { limit: 1_000 })).map((d) => d.id)).toEqual(rare)
      expect((await many.find({ kind: 'rare' }, { limit: 2, order: 'desc' })).map((d) => d.id)).toEqual(rare.slice(-2).reverse())
      expect((await many.find({ kind: 'rare' }, { limit: 2, afterId: rare[1] })).map((d) => d.id)).toEqual(rare.slice(2, 4))
      expect((await many.find({}, { limit: 1_000 })).map((d) => d.id)).toEqual(changes.slice(0, 1_000).map((c) => c.id))
      expect(await many.idsHaving('kind')).toEqual(changes.map((c) => c.id))
      expect(await many.count()).toBe(1_500)
    })

    it('lists the ids of documents that have a top-level key, without removed ones or other collections', async () => {
      const { store, views } = await setup()
      for (const id of ['b', 'a', 'c', 'd']) await views.merge(id, { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      await views.merge('e', { source: 'order', version: 1, set: { orderId: 'e' } })
      await views.remove('c', { source: 'payment', version: 2 })
      await views.remove('z', { source: 'payment', version: 1 }) // a tombstone that never had a body
      await store.collection<OrderView>('other-view').merge('f', { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      expect(await views.idsHaving('paymentStatus')).toEqual(['a', 'b', 'd'])
      expect(await views.idsHaving('orderId')).toEqual(['e'])
      expect(await views.idsHaving('deliveryStatus')).toEqual([])
    })

    it('tells whether a document has a field; a removed one has them all, a missing one none', async () => {
      const { views } = await setup()
      await views.merge('o1', { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      await views.remove('o2', { source: 'order', version: 1 })
      expect(await views.has('o1', 'paymentStatus')).toBe(true)
      expect(await views.has('o1', 'orderId')).toBe(false)
      expect(await views.has('o2', 'orderId')).toBe(true)
      expect(await views.has('o3', 'orderId')).toBe(false)
      expect((await views.lacking(['o1', 'o2', 'o3'], 'orderId')).sort()).toEqual(['o1', 'o3'])
      expect(await views.lacking(['o1', 'o2'], 'paymentStatus')).toEqual([])
      expect(await views.lacking([], 'paymentStatus')).toEqual([])
    })

    it('stores unicode and nested values intact', async () => {
      const { store } = await setup()
      const posts = store.collection<{ title: string; tags: string[]; nested: { deep: number[] } }>('posts')
      const title = '안녕하세요 👋🏽 "quotes" \\ back\\slash \\u0000 \u2028 e\u0301 \u202e'
      await posts.merge('p', { source: 'post', version: 1, set: { title, tags: ['a', 'ü'], nested: { deep: [1, 2] } } })
      expect((await posts.get('p'))?.body).toEqual({ title, tags: ['a', 'ü'], nested: { deep: [1, 2] } })
      expect((await posts.find({ title })).map((d) => d.id)).toEqual(['p'])
      // Ids and field names are text too.
      const odd = store.collection<Record<string, unknown>>('odd')
      const id = 'ü:{x} *?[a]\\ "q" 👋🏽'
      await odd.merge(id, { source: 'comment:{1}', version: 1, set: { 'f:1 "x"': 'a', 'v:post': 1 } })
      expect(await odd.get(id)).toMatchObject({ id, body: { 'f:1 "x"': 'a', 'v:post': 1 }, versions: { 'comment:{1}': 1 } })
      expect(await odd.idsHaving('f:1 "x"')).toEqual([id])
      expect(await odd.lacking([id], 'v:post')).toEqual([])
    })

    it('refuses a NUL character with a clear error instead of a database failure', async () => {
      const { store } = await setup()
      const posts = store.collection<{ title: string }>('posts')
      await expect(posts.merge('p', { source: 'post', version: 1, set: { title: 'a\u0000b' } })).rejects.toBeInstanceOf(UnsupportedCharacter)
      expect(await posts.count()).toBe(0)
    })
  })
}

/** The PostgreSQL `DocumentStore`, through the port on a connection of the test's database, and what only SQL has. */
export function documentStoreContract(engine: TestEngine): void {
  documentsContract(engine.name, async () => {
    const db = await engine.db()
    const schema = await engine.freshSchema('docs')
    const on = (queryable: Queryable): DocumentsNamespace => ({
      collection: <D extends object>(name: string) => new DocumentStore<D>(schema, name).on(queryable),
    })
    return {
      ...on(db),
      connections: async (n) => (await Promise.all(Array.from({ length: n }, () => engine.connect()))).map(on),
    }
  })

  describe(`document store on ${engine.name} (SQL)`, () => {
    it('serves key and containment filters with a GIN index on the body', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('docs')
      const index = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, 'documents_body'])
      expect(index.rows[0]?.indexdef).toMatch(/USING gin \(body\)/)
    })

    it('mergeMany writes a document once however many changes it gets, as merging one after another would', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('docs')
      const store = new DocumentStore<Record<string, unknown>>(schema, 'posts')
      await store.merge(db, 'p1', { source: 'post', version: 1, set: { title: 'one' } })
      await store.merge(db, 'p1', { source: 'comment:a', version: 3, set: { a: 'kept' } })
      await store.remove(db, 'p9', { source: 'post', version: 2 })
      const statements: string[] = []
      const applied = await db.transaction((tx) =>
        store.mergeMany({ query: (sql, params) => (statements.push(sql), tx.query(sql, params)) } as Queryable, [
          { id: 'p1', source: 'comment:a', version: 2, set: { a: 'stale' } },
          { id: 'p1', source: 'comment:b', version: 1, set: { b: 'first', shared: 'b' } },
          { id: 'p1', source: 'member:m', version: 1, set: { m: 'ann', shared: 'm' } },
          { id: 'p1', source: 'comment:b', version: 2, set: { b: 'second' } },
          { id: 'p1', source: 'comment:b', version: 2, set: { b: 'same version: refused' } },
          { id: 'p2', source: 'comment:c', version: 1, set: { c: 'new document' } },
          { id: 'p2', source: 'member:m', version: 1, set: { m: 'ann' } },
          { id: 'p9', source: 'comment:d', version: 1, set: { d: 'on a tombstone' } },
          { id: 'p9', source: 'member:m', version: 1, set: { m: 'ann' } },
        ]),
      )
      expect(statements).toHaveLength(2) // the versions, read and locked; then every document once
      expect(applied).toBe(7)
      expect(await store.get(db, 'p1')).toMatchObject({ body: { title: 'one', a: 'kept', b: 'second', m: 'ann', shared: 'm' }, versions: { post: 1, 'comment:a': 3, 'comment:b': 2, 'member:m': 1 } })
      expect(await store.get(db, 'p2')).toMatchObject({ body: { c: 'new document', m: 'ann' }, versions: { 'comment:c': 1, 'member:m': 1 } })
      expect(await store.get(db, 'p9')).toBeUndefined()
      const tombstone = await db.query<{ body: unknown; versions: unknown }>(`SELECT body, versions FROM "${schema}".documents WHERE id = 'p9'`)
      expect(tombstone.rows[0]).toEqual({ body: {}, versions: { post: 2, 'comment:d': 1, 'member:m': 1 } })
    })

    // PGlite has one session: no other transaction runs between two statements of this one.
    if (engine.name === 'postgres') it('mergeMany: a document that another transaction creates after its read is merged change by change, guarded as usual', async () => {
      const db = await engine.db()
      const other = await engine.connect()
      const schema = await engine.freshSchema('docs')
      const store = new DocumentStore<Record<string, unknown>>(schema, 'posts')
      const applied = await db.transaction(async (tx) => {
        let read = false
        const racing: Queryable = {
          async query(sql, params) {
            const result = await tx.query(sql, params)
            if (!read && sql.includes('FOR UPDATE')) {
              read = true
              // Between the read and the write: p1 appears, its comment a already at version 5.
              await store.merge(other, 'p1', { source: 'comment:a', version: 5, set: { a: 'newer, elsewhere' } })
            }
            return result as never
          },
        }
        return store.mergeMany(racing, [
          { id: 'p1', source: 'comment:a', version: 4, set: { a: 'older' } },
          { id: 'p1', source: 'member:m', version: 1, set: { m: 'ann' } },
          { id: 'p2', source: 'comment:c', version: 1, set: { c: 'c' } },
          { id: 'p2', source: 'member:m', version: 1, set: { m: 'ann' } },
        ])
      })
      expect(applied).toBe(3)
      expect(await store.get(db, 'p1')).toMatchObject({ body: { a: 'newer, elsewhere', m: 'ann' }, versions: { 'comment:a': 5, 'member:m': 1 } })
      expect(await store.get(db, 'p2')).toMatchObject({ body: { c: 'c', m: 'ann' } })
    })

    it("writes through the port in the caller's transaction: they commit or roll back with it", async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('docs')
      const store = new DocumentStore<OrderView>(schema, 'order-view')
      await expect(
        db.transaction(async (tx) => {
          await store.on(tx).merge('o1', { source: 'order', version: 1, set: { orderId: 'o1' } })
          expect(await store.on(tx).count()).toBe(1)
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect(await store.on(db).get('o1')).toBeUndefined()
      await db.transaction((tx) => store.on(tx).merge('o1', { source: 'order', version: 1, set: { orderId: 'o1' } }))
      expect((await store.get(db, 'o1'))?.body).toEqual({ orderId: 'o1' })
      expect(store.on(db).collection).toBe('order-view')
    })
  })
}
