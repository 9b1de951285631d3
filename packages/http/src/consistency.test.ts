import { describe, expect, it } from 'vitest'
import type { Position } from '@tidings/core'
import { consistencyWaiter, consistentCommand, consistentRead, withPosition, type ProgressSource } from './consistency'
import { createHttpApp } from './create-http-app'
import { deferred } from './deferred'

class FakeSubscription implements ProgressSource {
  private readonly listeners = new Set<() => void>()
  readonly firstRead = deferred()

  constructor(
    readonly name: string,
    readonly sources: string[],
    private position: Position = '0',
    private active = true,
  ) {}

  isActive(): boolean {
    return this.active
  }

  async processedPosition(): Promise<Position> {
    this.firstRead.resolve()
    return this.position
  }

  onProgress(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** What an active instance does after a committed page. */
  advance(position: Position): void {
    this.position = position
    for (const l of this.listeners) l()
  }

  /** What another process's active instance does: the checkpoint moves, nobody here is told. */
  moveCheckpoint(position: Position): void {
    this.position = position
  }

  get listenerCount(): number {
    return this.listeners.size
  }
}

const token = (position: Position, source = 'shop.orders') => ({ source, position })
const LONG = 60_000

describe('consistencyWaiter', () => {
  it('answers false at once for a feed no subscription follows', async () => {
    const wait = consistencyWaiter([new FakeSubscription('view', ['shop.orders'])])
    expect(await wait(token('5-1', 'shop.payments'), LONG)).toBe(false)
  })

  it('answers true at once when the position is already processed', async () => {
    const wait = consistencyWaiter([new FakeSubscription('view', ['shop.orders'], '7-3')])
    expect(await wait(token('7-3'), LONG)).toBe(true)
    expect(await wait(token('6-9'), LONG)).toBe(true)
  })

  it('wakes on the progress of an active subscription', async () => {
    const sub = new FakeSubscription('view', ['shop.orders'], '1-1')
    const waiting = consistencyWaiter([sub])(token('5-1'), LONG)
    await sub.firstRead.promise
    sub.advance('4-9')
    sub.advance('5-2')
    expect(await waiting).toBe(true)
    expect(sub.listenerCount).toBe(0)
  })

  it('polls the checkpoint of a standby', async () => {
    const standby = new FakeSubscription('view', ['shop.orders'], '1-1', false)
    const waiting = consistencyWaiter([standby])(token('5-1'), LONG)
    await standby.firstRead.promise
    standby.moveCheckpoint('5-1')
    expect(await waiting).toBe(true)
  })

  it('answers false when the time is up or the request is gone', async () => {
    const sub = new FakeSubscription('view', ['shop.orders'], '1-1')
    expect(await consistencyWaiter([sub])(token('5-1'), 30)).toBe(false)
    const abort = new AbortController()
    const waiting = consistencyWaiter([sub])(token('5-1'), LONG, abort.signal)
    abort.abort()
    expect(await waiting).toBe(false)
    expect(sub.listenerCount).toBe(0)
  })

  it('needs every consumer of the feed, but any one instance of each', async () => {
    const projection = new FakeSubscription('orders-view', ['shop.orders'], '9-9')
    const projectionStandby = new FakeSubscription('orders-view', ['shop.orders'], '1-1', false)
    const totals = new FakeSubscription('order-totals', ['shop.orders', 'shop.payments'], '1-1')
    const unrelated = new FakeSubscription('payments-view', ['shop.payments'], '0')
    expect(await consistencyWaiter([projection, projectionStandby, unrelated])(token('5-1'), LONG)).toBe(true)
    const all = consistencyWaiter([projection, projectionStandby, totals, unrelated])
    expect(await all(token('5-1'), 30)).toBe(false)
    const waiting = all(token('5-1'), LONG)
    totals.advance('5-1')
    expect(await waiting).toBe(true)
  })
})

describe('consistentRead', () => {
  function app(wait = consistencyWaiter([new FakeSubscription('view', ['shop.orders'], '5-1')]), timeoutMs = 30) {
    const a = createHttpApp()
    a.post('/orders', (c) => {
      withPosition(c, token('5-1'))
      return c.json({ ok: true }, 201)
    })
    a.post('/noop', (c) => {
      withPosition(c, undefined)
      return c.json({ ok: true })
    })
    a.get('/orders', consistentRead({ waiter: wait, timeoutMs }), (c) => c.json({ orders: [] }))
    return a
  }

  it('puts the token on command responses', async () => {
    expect((await app().request('/orders', { method: 'POST' })).headers.get('Tidings-Position')).toBe('shop.orders@5-1')
    expect((await app().request('/noop', { method: 'POST' })).headers.has('Tidings-Position')).toBe(false)
  })

  it('answers fresh when the model has caught up, by header or query', async () => {
    const byHeader = await app().request('/orders', { headers: { 'Tidings-Position': 'shop.orders@5-1' } })
    expect(byHeader.status).toBe(200)
    expect(byHeader.headers.has('Tidings-Stale')).toBe(false)
    const byQuery = await app().request('/orders?position=shop.orders@4-0')
    expect(byQuery.headers.has('Tidings-Stale')).toBe(false)
  })

  it('answers without waiting when there is no token', async () => {
    const never = async () => {
      throw new Error('must not wait')
    }
    expect((await app(never).request('/orders')).status).toBe(200)
  })

  it('answers with Tidings-Stale when the wait times out', async () => {
    const res = await app().request('/orders', { headers: { 'Tidings-Position': 'shop.orders@6-0' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('Tidings-Stale')).toBe('true')
    expect(await res.json()).toEqual({ orders: [] })
  })

  it("waits as long as the waiter says when the route sets no bound, and as long as the route says when it does", async () => {
    const slow = new FakeSubscription('view', ['shop.orders'], '5-1')
    const waiter = consistencyWaiter([slow], { timeoutMs: LONG })
    const a = createHttpApp()
    a.get('/patient', consistentRead({ waiter }), (c) => c.json({}))
    a.get('/hasty', consistentRead({ waiter, timeoutMs: 1 }), (c) => c.json({}))
    const patient = a.request('/patient', { headers: { 'Tidings-Position': 'shop.orders@6-0' } })
    const hasty = await a.request('/hasty', { headers: { 'Tidings-Position': 'shop.orders@6-0' } })
    expect(hasty.headers.get('Tidings-Stale')).toBe('true')
    // Well past the 2 s default: only the waiter's own bound keeps the patient read waiting.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    slow.advance('6-0')
    expect((await patient).headers.has('Tidings-Stale')).toBe(false)
  })

  it('waits for every token of a session, and is stale when one is not reached', async () => {
    const two = consistencyWaiter([new FakeSubscription('view', ['shop.orders', 'shop.payments'], '5-1')])
    const fresh = await app(two).request('/orders', { headers: { 'Tidings-Position': 'shop.orders@5-1, shop.payments@4-9' } })
    expect(fresh.headers.has('Tidings-Stale')).toBe(false)
    const stale = await app(two).request('/orders', { headers: { 'Tidings-Position': 'shop.orders@5-1,shop.payments@6-0' } })
    expect(stale.headers.get('Tidings-Stale')).toBe('true')
  })

  it("skips a session's tokens of feeds the model does not follow, but a lone one is stale", async () => {
    const mixed = await app().request('/orders', { headers: { 'Tidings-Position': 'shop.orders@5-1,shop.catalog@9-9' } })
    expect(mixed.headers.has('Tidings-Stale')).toBe(false)
    const lone = await app().request('/orders', { headers: { 'Tidings-Position': 'shop.catalog@9-9' } })
    expect(lone.headers.get('Tidings-Stale')).toBe('true')
  })

  it('refuses a token that does not parse with 400 INVALID_POSITION', async () => {
    for (const bad of ['shop.orders', 'shop.orders@x-1', '@5-1', 'shop orders@5-1', 'shop.orders@5-1,', Array(17).fill('shop.orders@5-1').join(',')]) {
      const res = await app().request(`/orders?position=${encodeURIComponent(bad)}`)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'INVALID_POSITION' })
    }
  })
})

describe('consistentCommand', () => {
  function app(options: { behind?: FakeSubscription; timeoutMs?: number } = {}) {
    const view = options.behind ?? new FakeSubscription('view', ['shop.orders'], '5-1')
    const waiter = consistencyWaiter([view])
    const ran: string[] = []
    const a = createHttpApp()
    const timeoutMs = options.timeoutMs ?? 30
    a.post('/orders/:id/cancel', consistentCommand({ waiter, timeoutMs }), (c) => {
      ran.push(c.req.path)
      return c.json({ cancelled: true })
    })
    // consistentRead on a command route acts as consistentCommand; on a query it keeps answering stale.
    a.patch('/orders/:id', consistentRead({ waiter, timeoutMs }), (c) => {
      ran.push(c.req.path)
      return c.json({ changed: true })
    })
    a.get('/orders/:id', consistentRead({ waiter, timeoutMs }), (c) => c.json({ id: c.req.param('id') }))
    return { a, ran, view }
  }
  const at = (position: string) => ({ headers: { 'Tidings-Position': position } })

  it('answers 503 NOT_CAUGHT_UP with Retry-After, without running the handler, when the model is not reached in time', async () => {
    const { a, ran } = app()
    for (const [method, path] of [['POST', '/orders/o1/cancel'], ['PATCH', '/orders/o1']] as const) {
      const res = await a.request(path, { method, ...at('shop.orders@6-0') })
      expect(res.status, method).toBe(503)
      expect(res.headers.get('retry-after')).toBe('1')
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(res.headers.has('Tidings-Stale')).toBe(false)
      expect(await res.json()).toMatchObject({ status: 503, code: 'NOT_CAUGHT_UP', type: 'urn:tidings:problem:not-caught-up' })
    }
    expect(ran).toEqual([])
    // The same token on a query: today's answer, stale.
    const read = await a.request('/orders/o1', at('shop.orders@6-0'))
    expect(read.status).toBe(200)
    expect(read.headers.get('Tidings-Stale')).toBe('true')
  })

  it('runs the command once the model has caught up, and at once without a token', async () => {
    const behind = new FakeSubscription('view', ['shop.orders'], '5-1')
    const { a, ran } = app({ behind, timeoutMs: LONG })
    const waiting = a.request('/orders/o1/cancel', { method: 'POST', ...at('shop.orders@6-0') })
    await behind.firstRead.promise
    expect(ran).toEqual([])
    behind.advance('6-0')
    const res = await waiting
    expect(res.status).toBe(200)
    expect(res.headers.has('Tidings-Stale')).toBe(false)
    expect((await a.request('/orders/o2/cancel', { method: 'POST' })).status).toBe(200)
    expect(ran).toEqual(['/orders/o1/cancel', '/orders/o2/cancel'])
  })

  it("ignores tokens of feeds the model does not follow: they cannot change its decision", async () => {
    const { a, ran } = app()
    expect((await a.request('/orders/o1/cancel', { method: 'POST', ...at('shop.catalog@9-9') })).status).toBe(200)
    expect((await a.request('/orders/o1/cancel', { method: 'POST', ...at('shop.catalog@9-9,shop.orders@5-1') })).status).toBe(200)
    const behind = await a.request('/orders/o1/cancel', { method: 'POST', ...at('shop.catalog@9-9,shop.orders@7-0') })
    expect(behind.status).toBe(503)
    expect(ran).toHaveLength(2)
  })
})
