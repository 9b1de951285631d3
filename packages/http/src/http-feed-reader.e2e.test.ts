import { afterAll, describe, expect, it } from 'vitest'
import { event, START, TidingsError, MALFORMED_TYPE, type Envelope } from '@tidings/core'
import {
  FeedSignals,
  isInfrastructureError,
  listDeadLetters,
  OutboxFeed,
  Subscription,
  UnitOfWork,
} from '@tidings/postgres'
import { createLedgerTables, eventually, ledgerConsumer, ledgerTotals, readAll, testEngines } from '@tidings/testing'
import { Hono } from 'hono'
import { createHttpApp } from './create-http-app'
import { deferred } from './deferred'
import { feedRoutes } from './feed-routes'
import { FeedProtocolViolation, FeedRequestRejected, FeedUnavailable, HttpFeedReader } from './http-feed-reader'
import { serveHttp, type RunningServer } from './host/serve'

const servers: RunningServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function served(app: Hono): Promise<string> {
  const server = await serveHttp(app, 0, { hostname: '127.0.0.1', graceMs: 100 })
  servers.push(server)
  return `http://127.0.0.1:${server.port}`
}

class ObservedSignals extends FeedSignals {
  waiting = deferred()
  override wait(source: string, timeoutMs: number, abort?: AbortSignal): Promise<void> {
    this.waiting.resolve()
    return super.wait(source, timeoutMs, abort)
  }
}

function envelopeAt(position: string, key: string, extra: Partial<Envelope> = {}): Envelope {
  return { id: `id-${position}`, type: 'shop.OrderPlaced.v1', source: 'shop.orders', key, position, occurredAt: '2026-01-02T03:04:05.000Z', data: { key }, meta: {}, ...extra }
}

/** A producer that serves whatever items it is given, good or bad, with the feed's paging and long poll. */
async function fakeFeed(items: unknown[]): Promise<string> {
  const app = new Hono()
  app.get('/api/feeds/shop.orders', async (c) => {
    const after = c.req.query('after') ?? START
    const index = items.findIndex((item) => (item as { position?: string }).position === after)
    const page = items.slice(index + 1, index + 1 + Number(c.req.query('limit') ?? 100))
    if (page.length === 0) {
      // Hold the poll open like a real feed would, so a follower does not spin.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Number(c.req.query('wait') ?? 0))
        c.req.raw.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    const next = (page.at(-1) as { position?: string } | undefined)?.position ?? after
    return c.json({ items: page, next })
  })
  app.get('/api/feeds/broken', (c) => c.json({ error: 'db down' }, 503))
  app.get('/api/feeds/refused', (c) => c.json({ code: 'INVALID_POSITION', detail: 'Not a feed position' }, 400))
  app.get('/api/feeds/html', (c) => c.html('<h1>Welcome to nginx</h1>'))
  return served(app)
}

const good1 = envelopeAt('10-1', 'k1')
const bad = { id: 'id-10-2', type: 'not a valid type!', key: 'k2', position: '10-2', occurredAt: 'yesterday', data: { x: 1 } }
const good3 = envelopeAt('10-3', 'k3')

describe('HttpFeedReader against a misbehaving producer', () => {
  it('turns a malformed item into a MALFORMED_TYPE envelope at its own position', async () => {
    const reader = new HttpFeedReader({ baseUrl: await fakeFeed([good1, bad, good3]), source: 'shop.orders' })
    const page = await reader.read(START, 10)
    expect(page.next).toBe('10-3')
    expect(page.items.map((e) => e.type)).toEqual(['shop.OrderPlaced.v1', MALFORMED_TYPE, 'shop.OrderPlaced.v1'])
    expect(page.items[0]).toEqual(good1)
    expect(page.items[1]).toMatchObject({
      type: MALFORMED_TYPE,
      source: 'shop.orders',
      key: 'k2',
      position: '10-2',
      data: { reason: 'Malformed envelope: type', raw: bad },
    })
  })

  it('refuses a page with an item that has no position, rather than skip or stall on it', async () => {
    const reader = new HttpFeedReader({ baseUrl: await fakeFeed([good1, { ...bad, position: 'garbage' }, good3]), source: 'shop.orders' })
    await expect(reader.read(START, 10)).rejects.toBeInstanceOf(FeedProtocolViolation)
    const backwards = new HttpFeedReader({ baseUrl: await fakeFeed([good3, good1]), source: 'shop.orders' })
    await expect(backwards.read(START, 10)).rejects.toBeInstanceOf(FeedProtocolViolation)
  })

  it('reports 5xx, unreachable and non-JSON producers as transient infrastructure errors', async () => {
    const baseUrl = await fakeFeed([])
    for (const source of ['broken', 'html']) {
      const error = await new HttpFeedReader({ baseUrl, source }).read(START, 10).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(FeedUnavailable)
      expect(isInfrastructureError(error)).toBe(true)
    }
    const gone = await serveHttp(new Hono(), 0, { hostname: '127.0.0.1' })
    await gone.close()
    const error = await new HttpFeedReader({ baseUrl: `http://127.0.0.1:${gone.port}`, source: 'shop.orders' }).read(START, 10).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FeedUnavailable)
    expect((error as Error).message).toContain('ECONNREFUSED')
    expect(isInfrastructureError(error)).toBe(true)
  })

  it('reports a 4xx as a TidingsError carrying the problem code, not as an outage', async () => {
    const error = await new HttpFeedReader({ baseUrl: await fakeFeed([]), source: 'refused' }).read(START, 10).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FeedRequestRejected)
    expect(error).toBeInstanceOf(TidingsError)
    expect(error).toMatchObject({ code: 'INVALID_POSITION', kind: 'validation' })
    expect(isInfrastructureError(error)).toBe(false)
  })

  it('answers an empty page when its caller aborts the long poll', async () => {
    const reader = new HttpFeedReader({ baseUrl: await fakeFeed([good1]), source: 'shop.orders' })
    const abort = new AbortController()
    const polling = reader.read('10-1', 10, { waitMs: 20_000, signal: abort.signal })
    abort.abort()
    expect(await polling).toEqual({ items: [], next: '10-1' })
  })
})

for (const engine of await testEngines()) {
  describe(`HttpFeedReader over a served feed on ${engine.name}`, () => {
    async function producer() {
      const db = await engine.db()
      const schema = await engine.freshSchema('hprod')
      const signals = new ObservedSignals()
      const uow = new UnitOfWork({ db, schema, source: 'shop.orders', signals })
      const feed = new OutboxFeed(db, schema, 'shop.orders', signals)
      const app = createHttpApp()
      app.route('/', feedRoutes({ feeds: { 'shop.orders': feed } }))
      const reader = new HttpFeedReader({ baseUrl: `${await served(app)}/`, source: 'shop.orders' })
      const place = (key: string) => uow.run(async (tx) => tx.record(event('shop.OrderPlaced.v1', key, { key }, 1)))
      return { db, schema, signals, feed, reader, place }
    }

    it('reads the same pages, positions and lag as the feed itself', async () => {
      const { feed, reader, place } = await producer()
      for (let i = 0; i < 5; i++) await place(`o${i}`)
      // A transaction open elsewhere on a shared server holds the feed back; compare once all five are out.
      await eventually(() => readAll(feed), (all) => all.length === 5, { what: 'five events past the feed horizon' })
      const local = await feed.read(START, 3)
      const remote = await reader.read(START, 3, { reader: 'billing' })
      expect(remote).toEqual(local)
      expect(await reader.read(remote.next, 10)).toEqual(await feed.read(local.next, 10))
      expect(await reader.lag(remote.next)).toEqual(await feed.lag(local.next))
      expect(await reader.lag(await feed.head())).toEqual({ events: 0 })
    })

    it('long-polls until a commit wakes it', async () => {
      const { signals, reader, place } = await producer()
      const polling = reader.read(START, 10, { waitMs: 20_000 })
      await signals.waiting.promise
      const committed = await place('o1')
      let page = await polling
      while (page.items.length === 0) page = await reader.read(page.next, 10, { waitMs: 1000 })
      expect(page.items.map((e) => e.id)).toEqual([committed.events[0]!.id])
    })

    it('lets a subscription in another service follow the feed over HTTP, exactly once', async () => {
      const { db, reader, place } = await producer()
      const schema = await engine.freshSchema('hcons')
      await db.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY, seen int NOT NULL DEFAULT 1)`)
      const subscription = new Subscription({
        db,
        schema,
        consumer: {
          name: 'orders-view',
          follows: ['shop.orders'],
          handle: async (tx, e) => {
            await tx.query(`INSERT INTO "${schema}".orders (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen = orders.seen + 1`, [e.key])
          },
        },
        feeds: [reader],
        batchSize: 7,
      })
      subscription.start()
      try {
        let last
        for (let i = 0; i < 30; i++) last = await place(`o${i}`)
        await eventually(() => subscription.hasProcessed('shop.orders', last!.token!.position), Boolean, { what: 'the follower to catch up' })
        const rows = await db.query<{ n: string; seen: string }>(`SELECT count(*)::text AS n, sum(seen)::text AS seen FROM "${schema}".orders`)
        expect(rows.rows[0]).toEqual({ n: '30', seen: '30' })
        expect(await subscription.lag()).toEqual({ 'shop.orders': { events: 0 } })
      } finally {
        await subscription.stop()
      }
    })

    it('dead-letters an item PostgreSQL cannot store (NUL, lone surrogate) as malformed and applies the next one', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('hnul')
      await createLedgerTables(db, schema)
      const deposit = (position: string, key: string, amount: number, extra: Partial<Envelope> = {}) =>
        envelopeAt(position, key, { type: 'test.Deposited.v1', data: { account: key, amount }, ...extra })
      const loneSurrogate = 'ab😀'.slice(0, 3) // e.g. a title cut at a length budget
      const items = [
        deposit('20-1', 'a', 1),
        deposit('20-2', 'b', 2, { id: 'id-with-nul\u0000' }),
        deposit('20-3', 'c', 4, { data: { account: 'c', amount: 4, note: 'nul \u0000 inside' } }),
        deposit('20-4', 'd', 8, { id: `id-${loneSurrogate}` }),
        deposit('20-5', 'e', 16, { data: { account: 'e', amount: 16, note: loneSurrogate } }),
        deposit('20-6', 'f', 32),
      ]
      // Served as JSON, where both travel as escapes (\u0000, \ud83d) and come back as the characters.
      const subscription = new Subscription({
        db,
        schema,
        consumer: ledgerConsumer(schema, { follows: ['shop.orders'] }),
        feeds: [new HttpFeedReader({ baseUrl: await fakeFeed(items), source: 'shop.orders' })],
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
        pollIntervalMs: 50,
      })
      subscription.start()
      try {
        await eventually(() => subscription.hasProcessed('shop.orders', '20-6'), Boolean, { what: 'the stream to pass the unstorable items' })
        expect(await ledgerTotals(db, schema)).toEqual({ count: 2, sum: 33, distinct: 2 })
        const dead = await listDeadLetters(db, schema, 'ledger')
        expect(dead.map((d) => [d.envelope.type, d.envelope.position]).sort()).toEqual([
          [MALFORMED_TYPE, '20-2'],
          [MALFORMED_TYPE, '20-3'],
          [MALFORMED_TYPE, '20-4'],
          [MALFORMED_TYPE, '20-5'],
        ])
      } finally {
        await subscription.stop()
      }
    })

    it('dead-letters a malformed item from a producer and moves on', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('hmal')
      const applied: string[] = []
      const subscription = new Subscription({
        db,
        schema,
        consumer: { name: 'orders-view', follows: ['shop.orders'], handle: async (_tx, e) => void applied.push(e.key) },
        feeds: [new HttpFeedReader({ baseUrl: await fakeFeed([good1, bad, good3]), source: 'shop.orders' })],
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      })
      subscription.start()
      try {
        await eventually(() => subscription.hasProcessed('shop.orders', '10-3'), Boolean, { what: 'the stream to pass the bad item' })
        expect([...new Set(applied)].sort()).toEqual(['k1', 'k3'])
        const dead = await listDeadLetters(db, schema, 'orders-view')
        expect(dead).toHaveLength(1)
        expect(dead[0]).toMatchObject({ envelope: { type: MALFORMED_TYPE, position: '10-2', data: { raw: bad } } })
        expect(dead[0]!.error).toContain('MalformedEnvelope')
      } finally {
        await subscription.stop()
      }
    })
  })
}
