import { describe, expect, it } from 'vitest'
import { UnsupportedCharacter } from '@tidings/core'
import { DocumentStore } from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { seededRandom } from '../scripted-feed'

interface OrderView {
  orderId: string
  customerId?: string
  orderStatus?: string
  paymentStatus?: string
  deliveryStatus?: string
}

/** Read-model documents: merge upserts owned per source and guarded by that source's version. */
export function documentStoreContract(engine: TestEngine): void {
  describe(`document store on ${engine.name}`, () => {
    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('docs')
      return { db, schema, views: new DocumentStore<OrderView>(schema, 'order-view') }
    }

    it('merges fields from several sources into one document', async () => {
      const { db, views } = await setup()
      await views.merge(db, 'o1', { source: 'order', version: 1, set: { orderId: 'o1', customerId: 'c1', orderStatus: 'PLACED' } })
      await views.merge(db, 'o1', { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      const doc = await views.get(db, 'o1')
      expect(doc?.body).toEqual({ orderId: 'o1', customerId: 'c1', orderStatus: 'PLACED', paymentStatus: 'PAID' })
      expect(doc?.versions).toEqual({ order: 1, payment: 1 })
    })

    it('never lets an older version of a source overwrite a newer one', async () => {
      const { db, views } = await setup()
      expect(await views.merge(db, 'o1', { source: 'order', version: 3, set: { orderStatus: 'SHIPPED' } })).toBe(true)
      expect(await views.merge(db, 'o1', { source: 'order', version: 2, set: { orderStatus: 'PAID' } })).toBe(false)
      expect(await views.merge(db, 'o1', { source: 'order', version: 3, set: { orderStatus: 'PAID' } })).toBe(false)
      expect((await views.get(db, 'o1'))?.body.orderStatus).toBe('SHIPPED')
      expect(await views.merge(db, 'o1', { source: 'order', version: 4, set: { orderStatus: 'DELIVERED' } })).toBe(true)
      expect((await views.get(db, 'o1'))?.body.orderStatus).toBe('DELIVERED')
    })

    it('takes concurrent first events from three sources without a duplicate key and without losing a field', async () => {
      const { schema } = await setup()
      const connections = await Promise.all([engine.connect(), engine.connect(), engine.connect()])
      const stores = connections.map(() => new DocumentStore<OrderView>(schema, 'order-view'))
      const ids = Array.from({ length: 200 }, (_, i) => `o${i}`)
      await Promise.all([
        Promise.all(ids.map((id) => stores[0]!.merge(connections[0]!, id, { source: 'order', version: 1, set: { orderId: id, orderStatus: 'PLACED' } }))),
        Promise.all(ids.map((id) => stores[1]!.merge(connections[1]!, id, { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } }))),
        Promise.all(ids.map((id) => stores[2]!.merge(connections[2]!, id, { source: 'delivery', version: 1, set: { deliveryStatus: 'PREPARING' } }))),
      ])
      const db = await engine.db()
      const views = new DocumentStore<OrderView>(schema, 'order-view')
      expect(await views.count(db)).toBe(200)
      for (const id of ids) {
        expect((await views.get(db, id))?.body).toEqual({ orderId: id, orderStatus: 'PLACED', paymentStatus: 'PAID', deliveryStatus: 'PREPARING' })
      }
    })

    it('mergeMany has the same effect as merging one change after another, duplicates and stale versions included', async () => {
      const { db, schema } = await setup()
      const random = seededRandom(7)
      const changes = Array.from({ length: 400 }, (_, i) => {
        const id = `o${Math.floor(random() * 20)}`
        const source = ['order', 'payment', 'delivery'][Math.floor(random() * 3)]!
        const version = 1 + Math.floor(random() * 10)
        return { id, source, version, set: { [`${source}Status`]: `v${version}-${i}` } as Partial<OrderView> }
      })
      const oneByOne = new DocumentStore<OrderView>(schema, 'one-by-one')
      let appliedOneByOne = 0
      for (const change of changes) if (await oneByOne.merge(db, change.id, change)) appliedOneByOne++
      const batched = new DocumentStore<OrderView>(schema, 'batched')
      expect(await batched.mergeMany(db, changes.slice(0, 150))).toBeGreaterThan(0)
      const appliedRest = await batched.mergeMany(db, changes.slice(150))
      const all = async (store: DocumentStore<OrderView>) =>
        (await store.find(db, {}, { limit: 100 })).map((d) => ({ id: d.id, body: d.body, versions: d.versions }))
      expect(await all(batched)).toEqual(await all(oneByOne))
      expect(appliedOneByOne).toBeGreaterThan(appliedRest)
    })

    it('keeps a removed document removed when a late event arrives', async () => {
      const { db, views } = await setup()
      await views.merge(db, 'p1', { source: 'post', version: 1, set: { orderId: 'p1' } })
      expect(await views.remove(db, 'p1', { source: 'post', version: 3 })).toBe(true)
      expect(await views.merge(db, 'p1', { source: 'post', version: 2, set: { orderId: 'p1', orderStatus: 'late' } })).toBe(false)
      expect(await views.merge(db, 'p1', { source: 'comment:9', version: 1, set: { orderStatus: 'comment' } })).toBe(true)
      expect(await views.get(db, 'p1')).toBeUndefined()
      expect(await views.count(db)).toBe(0)
      // A removal that arrives before any other event leaves a tombstone too.
      expect(await views.remove(db, 'p2', { source: 'post', version: 5 })).toBe(true)
      expect(await views.merge(db, 'p2', { source: 'post', version: 1, set: { orderId: 'p2' } })).toBe(false)
      expect(await views.get(db, 'p2')).toBeUndefined()
    })

    it('finds documents by containment, paged by id, and clears a collection', async () => {
      const { db, views, schema } = await setup()
      for (let i = 0; i < 5; i++) {
        await views.merge(db, `o${i}`, { source: 'order', version: 1, set: { orderId: `o${i}`, customerId: i % 2 === 0 ? 'even' : 'odd' } })
      }
      const other = new DocumentStore<OrderView>(schema, 'other-view')
      await other.merge(db, 'o0', { source: 'order', version: 1, set: { orderId: 'x', customerId: 'even' } })
      const firstPage = await views.find(db, { customerId: 'even' }, { limit: 2 })
      expect(firstPage.map((d) => d.id)).toEqual(['o0', 'o2'])
      const secondPage = await views.find(db, { customerId: 'even' }, { limit: 2, afterId: 'o2' })
      expect(secondPage.map((d) => d.id)).toEqual(['o4'])
      await views.clear(db)
      expect(await views.count(db)).toBe(0)
      expect(await other.count(db)).toBe(1)
    })

    it('finds in descending order, paged with beforeId, and between afterId and beforeId', async () => {
      const { db, views, schema } = await setup()
      for (let i = 0; i < 5; i++) {
        await views.merge(db, `o${i}`, { source: 'order', version: 1, set: { orderId: `o${i}`, customerId: i % 2 === 0 ? 'even' : 'odd' } })
      }
      await new DocumentStore<OrderView>(schema, 'other-view').merge(db, 'o5', { source: 'order', version: 1, set: { customerId: 'even' } })
      await views.merge(db, 'o9', { source: 'order', version: 1, set: { customerId: 'even' } })
      await views.remove(db, 'o9', { source: 'order', version: 2 })
      const ids = async (where: Partial<OrderView>, options: Parameters<typeof views.find>[2]) => (await views.find(db, where, options)).map((d) => d.id)
      expect(await ids({}, { order: 'desc', limit: 2 })).toEqual(['o4', 'o3'])
      expect(await ids({}, { order: 'desc', limit: 2, beforeId: 'o3' })).toEqual(['o2', 'o1'])
      expect(await ids({}, { order: 'desc', limit: 2, beforeId: 'o1' })).toEqual(['o0'])
      expect(await ids({ customerId: 'even' }, { order: 'desc', beforeId: 'o4' })).toEqual(['o2', 'o0'])
      expect(await ids({}, { afterId: 'o0', beforeId: 'o4' })).toEqual(['o1', 'o2', 'o3'])
      expect(await ids({}, { order: 'asc' })).toEqual(await ids({}, {}))
      expect(await ids({}, {})).toEqual(['o0', 'o1', 'o2', 'o3', 'o4'])
    })

    it('finds only documents that have a top-level key, in either order and with containment', async () => {
      const { db, views, schema } = await setup()
      await views.merge(db, 'o1', { source: 'order', version: 1, set: { orderId: 'o1', customerId: 'c1' } })
      await views.merge(db, 'o2', { source: 'order', version: 1, set: { orderId: 'o2', customerId: 'c1' } })
      await views.merge(db, 'o2', { source: 'delivery', version: 1, set: { deliveryStatus: 'PREPARING' } })
      await views.merge(db, 'o3', { source: 'delivery', version: 1, set: { deliveryStatus: 'SHIPPED' } })
      await views.merge(db, 'o4', { source: 'delivery', version: 1, set: { deliveryStatus: 'SHIPPED' } })
      await views.remove(db, 'o4', { source: 'delivery', version: 2 })
      const loose = new DocumentStore<Record<string, unknown>>(schema, 'order-view')
      await loose.merge(db, 'o5', { source: 'x', version: 1, set: { nested: { deliveryStatus: 'SHIPPED' } } })
      await loose.merge(db, 'o6', { source: 'x', version: 1, set: { deliveryStatus: null } }) // a key set to null is there
      await new DocumentStore<OrderView>(schema, 'other-view').merge(db, 'o7', { source: 'delivery', version: 1, set: { deliveryStatus: 'SHIPPED' } })
      const ids = async (where: Partial<OrderView>, options: Parameters<typeof views.find>[2]) => (await views.find(db, where, options)).map((d) => d.id)
      expect(await ids({}, { having: 'deliveryStatus' })).toEqual(['o2', 'o3', 'o6'])
      expect(await ids({}, { having: 'deliveryStatus', order: 'desc', limit: 2 })).toEqual(['o6', 'o3'])
      expect(await ids({ customerId: 'c1' }, { having: 'deliveryStatus' })).toEqual(['o2'])
      expect(await ids({ deliveryStatus: 'SHIPPED' }, { having: 'customerId' })).toEqual([])
      expect(await ids({}, { having: 'paymentStatus' })).toEqual([])
    })

    it('lists the ids of documents that have a top-level key, without removed ones or other collections', async () => {
      const { db, views, schema } = await setup()
      for (const id of ['b', 'a', 'c', 'd']) await views.merge(db, id, { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      await views.merge(db, 'e', { source: 'order', version: 1, set: { orderId: 'e' } })
      await views.remove(db, 'c', { source: 'payment', version: 2 })
      await views.remove(db, 'z', { source: 'payment', version: 1 }) // a tombstone that never had a body
      await new DocumentStore<OrderView>(schema, 'other-view').merge(db, 'f', { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      expect(await views.idsHaving(db, 'paymentStatus')).toEqual(['a', 'b', 'd'])
      expect(await views.idsHaving(db, 'orderId')).toEqual(['e'])
      expect(await views.idsHaving(db, 'deliveryStatus')).toEqual([])
      const index = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, 'documents_body'])
      expect(index.rows[0]?.indexdef).toMatch(/USING gin \(body\)/)
    })

    it('tells whether a document has a field; a removed one has them all, a missing one none', async () => {
      const { db, views } = await setup()
      await views.merge(db, 'o1', { source: 'payment', version: 1, set: { paymentStatus: 'PAID' } })
      await views.remove(db, 'o2', { source: 'order', version: 1 })
      expect(await views.has(db, 'o1', 'paymentStatus')).toBe(true)
      expect(await views.has(db, 'o1', 'orderId')).toBe(false)
      expect(await views.has(db, 'o2', 'orderId')).toBe(true)
      expect(await views.has(db, 'o3', 'orderId')).toBe(false)
      expect((await views.lacking(db, ['o1', 'o2', 'o3'], 'orderId')).sort()).toEqual(['o1', 'o3'])
      expect(await views.lacking(db, ['o1', 'o2'], 'paymentStatus')).toEqual([])
    })

    it('stores unicode and nested values intact', async () => {
      const { db, schema } = await setup()
      const store = new DocumentStore<{ title: string; tags: string[]; nested: { deep: number[] } }>(schema, 'posts')
      const title = '안녕하세요 👋🏽 "quotes" \\ back\\slash \\u0000 \u2028 e\u0301 \u202e'
      await store.merge(db, 'p', { source: 'post', version: 1, set: { title, tags: ['a', 'ü'], nested: { deep: [1, 2] } } })
      expect((await store.get(db, 'p'))?.body).toEqual({ title, tags: ['a', 'ü'], nested: { deep: [1, 2] } })
    })

    it('refuses a NUL character with a clear error instead of a database failure', async () => {
      const { db, schema } = await setup()
      const store = new DocumentStore<{ title: string }>(schema, 'posts')
      await expect(store.merge(db, 'p', { source: 'post', version: 1, set: { title: 'a\u0000b' } })).rejects.toBeInstanceOf(UnsupportedCharacter)
      expect(await store.count(db)).toBe(0)
    })
  })
}
