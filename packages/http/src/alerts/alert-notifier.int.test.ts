import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { noAlerts, type Alerts } from '@tidings/core'
import { eventually } from '@tidings/testing'
import { createHttpApp } from '../create-http-app'
import { AlertNotifier, type AlertNotifierOptions } from './alert-notifier'

type Behaviour = 'ok' | 'fail' | 'hang'

/** A webhook receiver on a port of its own: records what it is sent, and answers as `behave(n)` says for the n-th request. */
async function webhookReceiver(behave: (n: number) => Behaviour = () => 'ok') {
  const received: string[] = []
  const hanging: ServerResponse[] = []
  let requests = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      const behaviour = behave(++requests)
      if (behaviour === 'hang') return void hanging.push(res)
      if (behaviour === 'fail') return void res.writeHead(500).end()
      received.push((JSON.parse(body) as { text: string }).text)
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`,
    received,
    requests: () => requests,
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** An app whose routes fail unexpectedly (500), reporting to `alerts`. */
function failingApp(alerts: Alerts) {
  const app = createHttpApp({ alerts })
  app.get('/boom/:id', () => {
    throw new Error('the disk is full <!channel>\n[tidings] all clear: see https://evil.example`')
  })
  app.get('/other', () => {
    throw new TypeError('undefined is not a function')
  })
  app.get('/fine', (c) => c.json({ ok: true }))
  return app
}

const counter = async (registry: Registry, name: string, labels = ''): Promise<number> => {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)))
  return line ? Number(line.split(' ').at(-1)) : 0
}

describe('alerts: raised on the request path, delivered off it', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })
  function notifier(options: AlertNotifierOptions) {
    const registry = new Registry()
    const logged: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = []
    const log = (level: string) => (obj: object, msg?: string) => logged.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' })
    const alerts = new AlertNotifier({ registry, logger: { info: log('info'), warn: log('warn'), error: log('error') }, ...options })
    cleanups.push(() => alerts.stop())
    return { alerts, registry, logged }
  }
  async function receiver(behave?: (n: number) => Behaviour) {
    const hook = await webhookReceiver(behave)
    cleanups.push(() => hook.close())
    return hook
  }

  it('sends one message for 100 identical failures, with the count, and one per distinct failure', async () => {
    const hook = await receiver()
    const { alerts, registry } = notifier({ webhookUrl: hook.url, gatherMs: 5_000, windowMs: 60_000 })
    const app = failingApp(alerts)
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => Promise.resolve(app.request(`/boom/${i}`)).then((r) => r.status)))
    expect(new Set(statuses)).toEqual(new Set([500]))
    expect((await app.request('/other')).status).toBe(500)
    expect((await app.request('/fine')).status).toBe(200)
    await eventually(async () => hook.received.length, (n) => n >= 2, { what: 'the two messages' })
    expect(hook.received.sort()).toEqual([
      // One line, the message a code span: no mention, no forged line, no link.
      "[tidings] http_error INTERNAL at GET /boom/:id: `answered 500: Error: the disk is full &lt;!channel&gt; [tidings] all clear: see https://evil.example'` (×100)",
      "[tidings] http_error INTERNAL at GET /other: `answered 500: TypeError: undefined is not a function`",
    ])
    expect(await counter(registry, 'tidings_alerts_raised_total', '{kind="http_error",code="INTERNAL"}')).toBe(101)
    // The receiver records a message before it answers; the notifier counts it when the answer arrives.
    await eventually(() => counter(registry, 'tidings_alerts_delivered_total'), (n) => n === 2, { what: 'both deliveries counted' })
    expect(alerts.recent().map((a) => [a.where, a.count])).toEqual([
      ['GET /other', 1],
      ['GET /boom/:id', 100],
    ])
  })

  it('counts the repeats after the first message in one more message at the end of the window', async () => {
    const hook = await receiver()
    const { alerts } = notifier({ webhookUrl: hook.url, gatherMs: 100, windowMs: 1_500 })
    const app = failingApp(alerts)
    await app.request('/other')
    await eventually(async () => hook.received.length, (n) => n === 1, { what: 'the first message' })
    for (let i = 0; i < 5; i++) await app.request('/other')
    await eventually(async () => hook.received.length, (n) => n === 2, { what: 'the repeats message' })
    expect(hook.received[1]).toBe('[tidings] http_error INTERNAL at GET /other: 5 more within 1 min of the first')
  })

  it('a webhook that hangs or fails never slows the failing request, and loses nothing else', async () => {
    // The first delivery hangs until its timeout, the next two answer 500, then the webhook works.
    const hook = await receiver((n) => (n === 1 ? 'hang' : n <= 3 ? 'fail' : 'ok'))
    const { alerts, registry } = notifier({ webhookUrl: hook.url, gatherMs: 10, windowMs: 60_000, deliveryTimeoutMs: 300, attempts: 5, retryBaseMs: 50 })
    const withAlerts = failingApp(alerts)
    const without = failingApp(noAlerts)
    // Interleaved, so that both see the same machine: the request's latency with alerts over without.
    const timed = async (app: ReturnType<typeof failingApp>, path: string) => {
      const started = performance.now()
      expect((await app.request(path)).status).toBe(500)
      return performance.now() - started
    }
    const [a, b]: [number[], number[]] = [[], []]
    for (let i = 0; i < 300; i++) {
      a.push(await timed(withAlerts, `/boom/${i}`))
      b.push(await timed(without, `/boom/${i}`))
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
    const ratio = median(a) / median(b)
    console.log(`[alerts] failing request latency with a hanging webhook / without alerts: ${ratio.toFixed(2)} (medians of 300, ${median(a).toFixed(3)} ms / ${median(b).toFixed(3)} ms)`)
    expect(ratio).toBeLessThan(2)
    await withAlerts.request('/other')
    await eventually(async () => hook.received.length, (n) => n === 2, { timeoutMs: 20_000, what: 'both alerts delivered once the webhook works' })
    expect(hook.received.some((text) => text.includes('GET /boom/:id') && text.includes('(×300)'))).toBe(true)
    expect(await counter(registry, 'tidings_alerts_dropped_total', '{reason="undelivered"}')).toBe(0)
  })

  it('drops a message the webhook keeps refusing, with a log line and a metric, and delivers the next', async () => {
    let refusing = true
    const hook = await receiver(() => (refusing ? 'fail' : 'ok'))
    const { alerts, registry, logged } = notifier({ webhookUrl: hook.url, gatherMs: 10, attempts: 3, retryBaseMs: 20 })
    const app = failingApp(alerts)
    await app.request('/other')
    await eventually(() => counter(registry, 'tidings_alerts_dropped_total', '{reason="undelivered"}'), (n) => n === 1, { what: 'the message dropped' })
    expect(hook.requests()).toBe(3)
    expect(logged.find((l) => l.msg === 'alert dropped: the webhook did not take it')?.obj).toMatchObject({ code: 'INTERNAL', where: 'GET /other', attempts: 3, lastError: 'HTTP 500' })
    expect(JSON.stringify(logged)).not.toContain(hook.url)
    refusing = false
    await app.request('/boom/1')
    await eventually(async () => hook.received, (r) => r.length === 1, { what: 'the next alert' })
  })

  it('bounds the queue: past it, messages are dropped and counted', async () => {
    const hook = await receiver(() => 'hang')
    const { alerts, registry } = notifier({ webhookUrl: hook.url, gatherMs: 10, maxQueued: 2, deliveryTimeoutMs: 60_000 })
    for (let i = 0; i < 6; i++) alerts.raise({ kind: 'dead_letter', code: 'BROKEN', where: `consumer-${i}`, message: 'gave up' })
    // One in flight (hanging), two queued, three dropped.
    await eventually(() => counter(registry, 'tidings_alerts_dropped_total', '{reason="queue_full"}'), (n) => n === 3, { what: 'three dropped' })
    expect(hook.requests()).toBe(1)
  })

  it('bounds the distinct problems gathered at once: past it, alerts are logged and counted only', async () => {
    const hook = await receiver()
    const { alerts, registry, logged } = notifier({ webhookUrl: hook.url, gatherMs: 60_000, maxOpenWindows: 3 })
    for (let i = 0; i < 5; i++) alerts.raise({ kind: 'dead_letter', code: 'BROKEN', where: `consumer-${i}`, message: 'gave up' })
    expect(await counter(registry, 'tidings_alerts_dropped_total', '{reason="too_many_problems"}')).toBe(2)
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(5)
  })

  it('without a webhook, alerts are logged and counted only', async () => {
    const { alerts, registry, logged } = notifier({})
    const app = failingApp(alerts)
    for (let i = 0; i < 3; i++) await app.request('/other')
    expect(await counter(registry, 'tidings_alerts_raised_total', '{kind="http_error",code="INTERNAL"}')).toBe(3)
    expect(logged.filter((l) => l.level === 'error' && l.obj.alert === 'http_error')).toHaveLength(3)
    expect(await counter(registry, 'tidings_alerts_delivered_total')).toBe(0)
  })
})
