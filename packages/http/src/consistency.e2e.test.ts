import { afterAll, describe, expect, it } from 'vitest'
import { event, parseToken } from '@tidings/core'
import { FeedSignals, OutboxFeed, Subscription, UnitOfWork, type SubscriptionOptions } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import { consistencyWaiter, consistentCommand, consistentRead, withPosition, type ConsistencyWaiter } from './consistency'
import { createHttpApp } from './create-http-app'
import { deferred, type Deferred } from './deferred'
import { serveHttp, type RunningServer } from './host/serve'

const servers: RunningServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

for (const engine of await testEngines()) {
  describe(`reads that see your writes, over HTTP on ${engine.name}`, () => {
    async function setup() {
      const db = await engine.db()
      const producer = await engine.freshSchema('cprod')
      const consumer = await engine.freshSchema('ccons')
      await db.query(`CREATE TABLE "${consumer}".orders (id text PRIMARY KEY)`)
      const signals = new FeedSignals()
      const uow = new UnitOfWork({ db, schema: producer, source: 'shop.orders', signals })
      const feed = new OutboxFeed(db, producer, 'shop.orders', signals)
      // The projection can be held at a gate, so that a query provably arrives before the write is applied.
      let gate: Promise<void> = Promise.resolve()
      const options: SubscriptionOptions = {
        db,
        schema: consumer,
        consumer: {
          name: 'orders-view',
          follows: ['shop.orders'],
          handle: async (tx, e) => {
            await gate
            await tx.query(`INSERT INTO "${consumer}".orders (id) VALUES ($1) ON CONFLICT DO NOTHING`, [e.key])
          },
        },
        feeds: [feed],
      }
      const active = new Subscription(options)
      const standby = new Subscription(options) // never started: like an instance in another process
      const waiterCalled = { current: deferred() }
      const cancelled: string[] = []
      const serve = async (waitOn: Subscription[], timeoutMs: number) => {
        const waiter = consistencyWaiter(waitOn)
        const observed: ConsistencyWaiter = (token, ms, signal) => {
          waiterCalled.current.resolve()
          return waiter(token, ms, signal)
        }
        const app = createHttpApp()
        app.post('/orders/:id', async (c) => {
          const committed = await uow.run(async (tx) => tx.record(event('shop.OrderPlaced.v1', c.req.param('id'), {}, 1)))
          withPosition(c, committed.token)
          return c.json({ id: c.req.param('id') }, 201)
        })
        app.get('/orders/:id', consistentRead({ waiter: observed, timeoutMs }), async (c) => {
          const row = await db.query(`SELECT id FROM "${consumer}".orders WHERE id = $1`, [c.req.param('id')])
          return c.json({ found: row.rows.length === 1 })
        })
        // A command that decides on the read model: it must not run on a view older than the client's.
        app.post('/orders/:id/cancel', consistentCommand({ waiter: observed, timeoutMs }), async (c) => {
          const row = await db.query(`SELECT id FROM "${consumer}".orders WHERE id = $1`, [c.req.param('id')])
          if (row.rows.length === 0) return c.json({ code: 'NO_SUCH_ORDER' }, 404)
          cancelled.push(c.req.param('id'))
          return c.json({ cancelled: true })
        })
        const server = await serveHttp(app, 0, { hostname: '127.0.0.1', graceMs: 100 })
        servers.push(server)
        return `http://127.0.0.1:${server.port}`
      }
      const hold = (): Deferred<void> => {
        const d = deferred()
        gate = d.promise
        return d
      }
      return { active, standby, serve, hold, waiterCalled, cancelled }
    }

    async function placeThenRead(base: string, id: string, release: Deferred<void>, waiterCalled: { current: Deferred<void> }) {
      const placed = await fetch(`${base}/orders/${id}`, { method: 'POST' })
      expect(placed.status).toBe(201)
      const token = placed.headers.get('Tidings-Position')!
      expect(parseToken(token).source).toBe('shop.orders')
      const reading = fetch(`${base}/orders/${id}`, { headers: { 'Tidings-Position': token } })
      await waiterCalled.current.promise
      release.resolve()
      return reading
    }

    it('waits until the active subscription has applied the command, then answers fresh', async () => {
      const { active, serve, hold, waiterCalled } = await setup()
      const base = await serve([active], 30_000)
      active.start()
      try {
        const res = await placeThenRead(base, 'o1', hold(), waiterCalled)
        expect(res.status).toBe(200)
        expect(res.headers.has('Tidings-Stale')).toBe(false)
        expect(await res.json()).toEqual({ found: true })
      } finally {
        await active.stop()
      }
    })

    it('waits on a standby instance by its checkpoint', async () => {
      const { active, standby, serve, hold, waiterCalled } = await setup()
      const base = await serve([standby], 30_000)
      active.start()
      try {
        const res = await placeThenRead(base, 'o2', hold(), waiterCalled)
        expect(res.headers.has('Tidings-Stale')).toBe(false)
        expect(await res.json()).toEqual({ found: true })
      } finally {
        await active.stop()
      }
    })

    it('answers with the current state and Tidings-Stale when the model does not catch up in time', async () => {
      const { active, serve } = await setup()
      const base = await serve([active], 100)
      const placed = await fetch(`${base}/orders/o3`, { method: 'POST' })
      const token = placed.headers.get('Tidings-Position')!
      const res = await fetch(`${base}/orders/o3?position=${encodeURIComponent(token)}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('Tidings-Stale')).toBe('true')
      expect(await res.json()).toEqual({ found: false })
      const bad = await fetch(`${base}/orders/o3?position=not-a-token`)
      expect(bad.status).toBe(400)
      expect(await bad.json()).toMatchObject({ code: 'INVALID_POSITION' })
    })

    it('refuses a command with 503 NOT_CAUGHT_UP and Retry-After when the model does not catch up in time, and runs it once it has', async () => {
      const { active, serve, cancelled } = await setup()
      const base = await serve([active], 100)
      const placed = await fetch(`${base}/orders/o4`, { method: 'POST' })
      const token = placed.headers.get('Tidings-Position')!
      const refused = await fetch(`${base}/orders/o4/cancel`, { method: 'POST', headers: { 'Tidings-Position': token } })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(await refused.json()).toMatchObject({ code: 'NOT_CAUGHT_UP' })
      expect(cancelled).toEqual([])
      // Without the token the command would have decided on the stale view: the order "does not exist".
      expect((await fetch(`${base}/orders/o4/cancel`, { method: 'POST' })).status).toBe(404)
      // Sent again to a server that waits long enough, once the projection runs: it is applied.
      const patient = await serve([active], 30_000)
      active.start()
      try {
        const retried = await fetch(`${patient}/orders/o4/cancel`, { method: 'POST', headers: { 'Tidings-Position': token } })
        expect(retried.status).toBe(200)
        expect(await retried.json()).toEqual({ cancelled: true })
        expect(cancelled).toEqual(['o4'])
      } finally {
        await active.stop()
      }
    })
  })
}
