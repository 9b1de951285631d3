import { describe, expect, it } from 'vitest'
import { event, START, type Envelope } from '@tidings/core'
import { cleanupFeed, FeedSignals, OutboxFeed, UnitOfWork } from '@tidings/postgres'
import { eventually, readAll, testEngines } from '@tidings/testing'
import { createHttpApp } from './create-http-app'
import { deferred } from './deferred'
import { feedRoutes, type FeedLagBody, type FeedRetentionBody } from './feed-routes'
import { HttpFeedReader } from './http-feed-reader'

/** A reporting reader's session: random per running instance in real readers. */
const SESSION = 'a-session-of-16-chars'

/** Signals that also tell the test when a long poll has started waiting. */
class ObservedSignals extends FeedSignals {
  waiting = deferred()
  override wait(source: string, timeoutMs: number, abort?: AbortSignal): Promise<void> {
    this.waiting.resolve()
    return super.wait(source, timeoutMs, abort)
  }
}

interface PageBody {
  items: Envelope[]
  next: string
}

for (const engine of await testEngines()) {
  describe(`feed endpoint on ${engine.name}`, () => {
    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('feedhttp')
      const signals = new ObservedSignals()
      const uow = new UnitOfWork({ db, schema, source: 'shop.orders', signals })
      const feed = new OutboxFeed(db, schema, 'shop.orders', signals)
      const app = createHttpApp()
      app.route('/', feedRoutes({ feeds: { 'shop.orders': feed }, maxLimit: 50, maxWaitMs: 20_000 }))
      const get = async (path: string) => {
        const res = await app.request(path)
        return { status: res.status, body: (await res.json()) as PageBody & FeedLagBody & { code?: string } }
      }
      const place = (i: number) => uow.run(async (tx) => tx.record(event('shop.OrderPlaced.v1', `order-${i}`, { i }, 1)))
      // On a shared server any transaction still open anywhere in the cluster holds the feed back: wait it out.
      const visible = (n: number) => eventually(() => readAll(feed), (all) => all.length === n, { what: `${n} events past the feed horizon` })
      return { db, schema, signals, uow, feed, app, get, place, visible }
    }

    it('pages through the feed by position', async () => {
      const { get, place, visible } = await setup()
      const committed = []
      for (let i = 0; i < 5; i++) committed.push(await place(i))
      await visible(5)
      const first = await get('/api/feeds/shop.orders?limit=2')
      expect(first.status).toBe(200)
      expect(first.body.items.map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }])
      expect(first.body.items[0]).toMatchObject({ id: committed[0]!.events[0]!.id, source: 'shop.orders', key: 'order-0', version: 1 })
      expect(first.body.next).toBe(committed[1]!.token!.position)
      const second = await get(`/api/feeds/shop.orders?after=${first.body.next}&limit=2`)
      const third = await get(`/api/feeds/shop.orders?after=${second.body.next}&limit=2`)
      expect([...second.body.items, ...third.body.items].map((e) => e.data)).toEqual([{ i: 2 }, { i: 3 }, { i: 4 }])
      const end = await get(`/api/feeds/shop.orders?after=${third.body.next}`)
      expect(end.body).toEqual({ items: [], next: third.body.next })
      expect((await get('/api/feeds/shop.orders?after=')).body.items).toHaveLength(5)
    })

    it('holds an empty page open until a commit wakes it', async () => {
      const { app, signals, place, get } = await setup()
      const polling = app.request(`/api/feeds/shop.orders?after=${START}&wait=20000`)
      await signals.waiting.promise
      const committed = await place(1)
      let page = (await (await polling).json()) as PageBody
      // Woken, the feed may still hide the commit behind a transaction open elsewhere; a client polls on.
      while (page.items.length === 0) page = (await get(`/api/feeds/shop.orders?after=${page.next}&wait=1000`)).body
      expect(page.items.map((e) => e.id)).toEqual([committed.events[0]!.id])
      expect(page.next).toBe(committed.token!.position)
    })

    it('answers an empty page at once without wait, and after the wait when nothing comes', async () => {
      const { get } = await setup()
      expect((await get('/api/feeds/shop.orders')).body).toEqual({ items: [], next: START })
      expect((await get('/api/feeds/shop.orders?wait=20')).body).toEqual({ items: [], next: START })
    })

    it('records the consumer as a reader, so retention keeps what it still needs', async () => {
      const { db, schema, get, place } = await setup()
      const first = await place(1)
      await place(2)
      // A reader reports what it has applied: the position it asks to read after.
      await get(`/api/feeds/shop.orders?consumer=billing.invoices&session=${SESSION}&after=${first.token!.position}`)
      const readers = await db.query<{ reader: string; position: string }>(`SELECT reader, position FROM "${schema}".feed_readers`)
      expect(readers.rows).toEqual([{ reader: 'billing.invoices', position: first.token!.position }])
    })

    it("one reader cannot report another's position: a name is its reporting session's until that goes quiet", async () => {
      const { db, schema, get, place } = await setup()
      const first = await place(1)
      const second = await place(2)
      await get(`/api/feeds/shop.orders?consumer=billing.invoices&session=${SESSION}&after=${first.token!.position}`)
      // Another instance (or anyone else) naming the same reader: served, but its position is not recorded.
      expect((await get(`/api/feeds/shop.orders?consumer=billing.invoices&session=${'x'.repeat(16)}&after=${second.token!.position}`)).status).toBe(200)
      const position = async () => (await db.query<{ position: string }>(`SELECT position FROM "${schema}".feed_readers WHERE reader = 'billing.invoices'`)).rows[0]!.position
      expect(await position()).toBe(first.token!.position)
      expect(await get(`/api/feeds/shop.orders?consumer=billing.invoices&after=${second.token!.position}`)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      // Once the holder has been quiet past the takeover time, a standby's session takes the name over.
      await db.query(`UPDATE "${schema}".feed_readers SET seen_at = now() - interval '2 minutes'`)
      await get(`/api/feeds/shop.orders?consumer=billing.invoices&session=${'y'.repeat(16)}&after=${second.token!.position}`)
      expect(await position()).toBe(second.token!.position)
    })

    it('says how far retention has deleted the feed, for a consumer about to rebuild elsewhere', async () => {
      const { db, schema, app, place, visible } = await setup()
      for (let i = 0; i < 3; i++) await place(i)
      await visible(3)
      const retention = async () => (await (await app.request('/api/feeds/shop.orders/retention')).json()) as FeedRetentionBody
      expect(await retention()).toEqual({ trimmedThrough: null })
      await db.query(`UPDATE "${schema}".outbox SET occurred_at = now() - interval '30 days' WHERE (feed_xid, seq) IN (SELECT feed_xid, seq FROM "${schema}".outbox ORDER BY feed_xid, seq LIMIT 2)`)
      expect(await cleanupFeed(db, schema, { retainMs: 3600_000, readerLivenessMs: 0 })).toBe(2)
      const { trimmedThrough } = await retention()
      expect(trimmedThrough).toMatch(/^\d+-\d+$/)
      // What a consumer in another process reads of it.
      const remote = new HttpFeedReader({ baseUrl: 'http://producer', source: 'shop.orders', fetch: async (input, init) => app.request(String(input).replace('http://producer', ''), init) })
      expect(await remote.trimmedThrough()).toBe(trimmedThrough)
    })

    it('reports lag from a position', async () => {
      const { get, place } = await setup()
      expect((await get('/api/feeds/shop.orders/lag')).body).toEqual({ events: 0, oldestUnreadAt: null })
      const first = await place(1)
      await place(2)
      const lag = await get('/api/feeds/shop.orders/lag?after=0')
      expect(lag.body.events).toBe(2)
      expect(Date.parse(lag.body.oldestUnreadAt!)).not.toBeNaN()
      expect((await get(`/api/feeds/shop.orders/lag?after=${first.token!.position}`)).body.events).toBe(1)
    })

    it('refuses unknown feeds, bad positions and bad limits with problems', async () => {
      const { get } = await setup()
      for (const path of ['/api/feeds/shop.payments', '/api/feeds/constructor', '/api/feeds/__proto__/lag']) {
        expect(await get(path)).toMatchObject({ status: 404, body: { code: 'UNKNOWN_FEED' } })
      }
      for (const after of ['abc', '-1', '1-', '01-2', "1-1'--", '1-1&after=2-2', '99999999999999999999999-1']) {
        const path = `/api/feeds/shop.orders?after=${encodeURIComponent(after).replace('%26', '&').replace('%3D', '=')}`
        expect(await get(path)).toMatchObject({ status: 400, body: { code: 'INVALID_POSITION' } })
        expect(await get(path.replace('?', '/lag?'))).toMatchObject({ status: 400, body: { code: 'INVALID_POSITION' } })
      }
      for (const query of ['limit=0', 'limit=51', 'limit=ten', 'limit=1.5', 'limit=', 'wait=-1', 'wait=20001', 'limit=1&limit=2', `consumer=a%00b&session=${SESSION}`, `consumer=${'c'.repeat(201)}&session=${SESSION}`, 'consumer=no-session', 'consumer=a&session=short']) {
        const res = await get(`/api/feeds/shop.orders?${query}`)
        expect(res, query).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      }
    })
  })
}
