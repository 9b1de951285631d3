import { describe, expect, it } from 'vitest'
import { Dispatcher, event, type Envelope } from '@tidings/core'
import { FeedSignals, OutboxFeed, Subscription, UnitOfWork, type Queryable } from '@tidings/postgres'
import { eventually, readAll, testEngines } from '@tidings/testing'
import { createHttpApp } from '../create-http-app'
import { createMetrics } from './metrics'

function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

for (const engine of await testEngines()) {
  describe(`metrics after real work on ${engine.name}`, () => {
    it('exports backlog, lag, handler, retry and dead-letter series', async () => {
      const db = await engine.db()
      const producer = await engine.freshSchema('mprod')
      const consumerSchema = await engine.freshSchema('mcons')
      await db.query(`CREATE TABLE "${consumerSchema}".orders (id text PRIMARY KEY)`)
      const metrics = createMetrics()
      const signals = new FeedSignals()
      const dispatcher = new Dispatcher<Queryable>({ onAfterCommitFailure: metrics.afterCommitFailed })
      dispatcher.afterCommit('shop.OrderPlaced.v1', () => {
        throw new Error('cache is down')
      })
      const uow = new UnitOfWork({ db, schema: producer, source: 'shop.orders', signals, dispatcher })
      const feed = new OutboxFeed(db, producer, 'shop.orders', signals)
      const subscription = new Subscription({
        db,
        schema: consumerSchema,
        consumer: {
          name: 'orders-view',
          follows: ['shop.orders'],
          handle: async (tx, e: Envelope) => {
            if (e.type === 'shop.Poison.v1') throw new Error('cannot digest this')
            await tx.query(`INSERT INTO "${consumerSchema}".orders (id) VALUES ($1)`, [e.key])
          },
        },
        feeds: [feed],
        observer: metrics.observer,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      })
      metrics.watchFeed('shop.orders', feed, { db, schema: producer })
      metrics.watchSubscription(subscription)
      metrics.watchDeadLetters(db, consumerSchema)
      const app = createHttpApp({ metrics })
      const scrape = async () => (await app.request('/metrics')).text()

      subscription.start()
      try {
        await uow.run(async (tx) => tx.record(event('shop.OrderPlaced.v1', 'o1', {}, 1)))
        await uow.run(async (tx) => tx.record(event('shop.Poison.v1', 'o2', {}, 1), event('shop.OrderPlaced.v1', 'o3', {}, 1)))
        const last = await uow.run(async (tx) => tx.record(event('shop.OrderPlaced.v1', 'o4', {}, 1)))
        await eventually(() => subscription.hasProcessed('shop.orders', last.token!.position), Boolean, { what: 'the subscription to catch up' })

        const text = await scrape()
        const sub = 'subscription="orders-view",source="shop.orders"'
        expect(valueOf(text, `tidings_consumer_lag_events{${sub}}`)).toBe(0)
        expect(valueOf(text, `tidings_consumer_lag_seconds{${sub}}`)).toBe(0)
        expect(valueOf(text, 'tidings_subscription_active{subscription="orders-view"}')).toBe(1)
        expect(valueOf(text, `tidings_dead_letters{schema="${consumerSchema}",consumer="orders-view"}`)).toBe(1)
        expect(valueOf(text, 'tidings_consumer_dead_lettered_total{consumer="orders-view",type="shop.Poison.v1"}')).toBe(1)
        expect(valueOf(text, 'tidings_consumer_retries_total{consumer="orders-view",type="shop.Poison.v1"}')).toBe(1)
        expect(valueOf(text, 'tidings_consumer_handler_duration_seconds_count{consumer="orders-view",type="shop.OrderPlaced.v1"}')).toBeGreaterThanOrEqual(3)
        expect(valueOf(text, 'tidings_after_commit_failures_total{type="shop.OrderPlaced.v1"}')).toBe(3)
        // Readers report their position at most every few seconds, so the backlog is an upper bound here.
        const backlog = valueOf(text, 'tidings_outbox_backlog{source="shop.orders"}')
        expect(backlog).toBeGreaterThanOrEqual(0)
        expect(backlog).toBeLessThanOrEqual(4)
        expect(valueOf(text, 'tidings_outbox_backlog_age_seconds{source="shop.orders"}')).toBeGreaterThanOrEqual(0)

        await subscription.stop()
        await uow.run(async (tx) => tx.record(event('shop.OrderPlaced.v1', 'o5', {}, 1), event('shop.OrderPlaced.v1', 'o6', {}, 1)))
        const behind = await scrape()
        expect(valueOf(behind, `tidings_consumer_lag_events{${sub}}`)).toBe(2)
        expect(valueOf(behind, `tidings_consumer_lag_seconds{${sub}}`)).toBeGreaterThanOrEqual(0)
        expect(valueOf(behind, 'tidings_subscription_active{subscription="orders-view"}')).toBe(0)
      } finally {
        await subscription.stop()
      }
    })

    it('measures the outbox backlog from the slowest live reader', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('mback')
      const uow = new UnitOfWork({ db, schema, source: 'shop.carts' })
      for (let i = 0; i < 5; i++) await uow.run(async (tx) => tx.record(event('shop.CartOpened.v1', `c${i}`, {})))
      const feed = new OutboxFeed(db, schema, 'shop.carts')
      await eventually(() => readAll(feed), (all) => all.length === 5, { what: 'five events past the feed horizon' })
      const withReaders = createMetrics()
      const withoutReaders = createMetrics()
      withReaders.watchFeed('shop.carts', new OutboxFeed(db, schema, 'shop.carts'), { db, schema })
      withoutReaders.watchFeed('shop.carts', new OutboxFeed(db, schema, 'shop.carts'))
      const backlog = async (m = withReaders) => valueOf(await m.registry.metrics(), 'tidings_outbox_backlog{source="shop.carts"}')

      expect(await backlog()).toBe(5) // nobody has read anything yet
      // Readers report what they have applied: the position they read after.
      const all = await readAll(feed)
      await new OutboxFeed(db, schema, 'shop.carts').read(all[3]!.position!, 10, { reader: 'fast' })
      await new OutboxFeed(db, schema, 'shop.carts').read(all[1]!.position!, 10, { reader: 'slow' })
      expect(await backlog()).toBe(3)
      expect(await backlog(withoutReaders)).toBe(5) // without the readers table every retained event counts
      await db.query(`UPDATE "${schema}".feed_readers SET seen_at = now() - interval '2 days' WHERE reader = 'slow'`)
      expect(await backlog()).toBe(1)
    })
  })
}
