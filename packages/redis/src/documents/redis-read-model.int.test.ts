import { consumer, event, type Envelope } from '@tidings/core'
import { FeedSignals, OutboxFeed, Subscription, UnitOfWork, type Queryable } from '@tidings/postgres'
import { eventually, serviceReachable, testEngines } from '@tidings/testing'
import { Redis } from 'ioredis'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { redisDocuments, type RedisDocuments } from './redis-documents'

const SHARED = 'redis://127.0.0.1:6379'
const PREFIX = `tidings-test-model-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
const SOURCE = 'test.orders'

interface OrderView {
  status: string
  amount: number
}

type OrderChanged = Envelope<'test.OrderChanged.v1', OrderView>

/**
 * The read side on Redis (the articles keep it in a NoSQL store): a consumer follows a feed from
 * PostgreSQL and writes documents into Redis. A Redis write is not in the consumer's transaction, so the
 * version guards make replays harmless, and a rebuild clears Redis and fills it again from the feed.
 */
describe.runIf(await serviceReachable('Redis', 6379))('a read model on Redis', async () => {
  const redis = new Redis(SHARED)
  const stops: Array<() => Promise<unknown>> = []
  let collections = 0
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
  })
  afterAll(async () => {
    const keys = await redis.keys(`${PREFIX}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  for (const engine of await testEngines()) {
    it(`is rebuilt from the feed into an emptied Redis, the same as before (feed on ${engine.name})`, async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('redis_model')
      const signals = new FeedSignals()
      const uow = new UnitOfWork({ db, schema, source: SOURCE, signals })
      const documents: RedisDocuments = await redisDocuments({ url: SHARED, prefix: PREFIX })
      stops.push(() => documents.close())
      const view = documents.collection<OrderView>(`orders-${engine.name}-${++collections}`)
      const projection = consumer<Queryable, OrderChanged>({
        name: 'test.orders-in-redis',
        follows: [SOURCE],
        handle: async (_tx, e) => void (await view.merge(e.key, { source: 'order', version: e.version!, set: e.data })),
        reset: () => view.clear(),
      })
      const subscription = new Subscription({ db, schema, consumer: projection as never, feeds: [new OutboxFeed(db, schema, SOURCE, signals)], pollIntervalMs: 100 })
      subscription.start()
      stops.push(() => subscription.stop())

      // 300 changes to 40 orders, ten per transaction; each order's versions count up.
      const latest = new Map<string, OrderView & { version: number }>()
      for (let i = 0; i < 300; i += 10) {
        await uow.run(async (tx) => {
          for (let j = i; j < i + 10; j++) {
            const key = `order-${(j * 7) % 40}`
            const version = (latest.get(key)?.version ?? 0) + 1
            const data = { status: ['PLACED', 'PAID', 'SHIPPED'][version % 3]!, amount: j }
            latest.set(key, { ...data, version })
            tx.record(event('test.OrderChanged.v1', key, data, version))
          }
        })
      }
      const expected = [...latest].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, { status, amount, version }]) => ({ id, body: { status, amount }, versions: { order: version } }))
      const stored = async () => (await view.find({}, { limit: 1_000 })).map(({ id, body, versions }) => ({ id, body, versions }))
      await eventually(stored, (docs) => isDeepStrictEqual(docs, expected), { what: 'every order in Redis' })

      // Redis loses everything; the rebuild replays the feed from the start into the empty collection.
      await view.clear()
      expect(await view.count()).toBe(0)
      await subscription.reset()
      await eventually(stored, (docs) => isDeepStrictEqual(docs, expected), { what: 'the rebuilt orders' })
      expect(await view.count()).toBe(40)
    })
  }
})
