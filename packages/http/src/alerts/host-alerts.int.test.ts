import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import type { ConsumerDefinition } from '@tidings/core'
import type { Follower, Queryable } from '@tidings/postgres'
import { eventually, testEngines } from '@tidings/testing'
import { hostServices, serviceContext, type Host } from '../host/host'
import { openProducer, openSubscription, type ServiceContext } from '../host/service'
import { ConsumerBehindWatcher } from './consumer-behind'

/** Collects the texts posted to it. */
async function webhook() {
  const texts: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      texts.push((JSON.parse(body) as { text: string }).text)
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, texts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

for (const engine of await testEngines()) {
  describe(`alerts raised by a host's services on ${engine.name}`, () => {
    let hook: Awaited<ReturnType<typeof webhook>>
    let ctx: ServiceContext
    let host: Host
    let record: (type: string) => Promise<void>
    let stuck: Follower
    const failing = { on: true, attempts: 0 }

    beforeAll(async () => {
      hook = await webhook()
      const { db } = await engine.freshDatabase()
      ctx = serviceContext({ db, alertWebhookUrl: hook.url })
      const { uow, feed } = await openProducer(ctx, 'alerting', 'alerting.jobs', [])
      const worker: ConsumerDefinition<Queryable> = {
        name: 'alerting.worker',
        follows: ['alerting.jobs'],
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
        async handle(_tx, event) {
          if (event.type === 'Poison') throw new Error('cannot digest this')
        },
      }
      // Retried for long on what it cannot handle yet (a participant down, say): it falls behind meanwhile.
      const patient: ConsumerDefinition<Queryable> = {
        name: 'alerting.patient',
        follows: ['alerting.jobs'],
        retry: { maxAttempts: 10_000, baseDelayMs: 10, maxDelayMs: 20 },
        async handle(_tx, event) {
          if (event.type !== 'NeedsPartner' || !failing.on) return
          failing.attempts++
          throw new Error('the partner is down')
        },
      }
      const subscription = await openSubscription(ctx, 'alerting', worker, [feed])
      stuck = await openSubscription(ctx, 'alerting', patient, [feed])
      const routes = new Hono().get('/api/broken', () => {
        throw new Error('unexpected')
      })
      host = hostServices(ctx, [{ name: 'alerting', routes, feeds: { 'alerting.jobs': feed }, subscriptions: [subscription, stuck], producerSchemas: ['alerting'], consumerSchemas: ['alerting'] }])
      await host.start()
      record = async (type) => void (await uow.run(async (tx) => tx.record({ type, key: 'job-1', data: {} })))
    })
    afterAll(async () => {
      failing.on = false
      await host?.stop()
      await hook?.close()
    })

    it('a 500 answer reaches the webhook by its route', async () => {
      expect((await host.http.request('/api/broken')).status).toBe(500)
      await eventually(async () => hook.texts, (texts) => texts.some((t) => t.startsWith('[tidings] http_error INTERNAL at GET /api/broken')), { what: 'the 500 alert' })
    })

    it('a dead-lettered message reaches the webhook by its consumer, with the error', async () => {
      await record('Poison')
      await eventually(async () => hook.texts, (texts) => texts.some((t) => t === '[tidings] dead_letter HANDLER_FAILED at alerting.worker: `gave up on Poison: Error: cannot digest this`'), {
        what: 'the dead-letter alert',
      })
      const scraped = await (await host.http.request('/metrics')).text()
      expect(scraped).toContain('tidings_alerts_raised_total{kind="dead_letter",code="HANDLER_FAILED"} 1')
    })

    it('a consumer stuck behind its feed is reported while it is', async () => {
      await record('NeedsPartner')
      await record('Next')
      await eventually(async () => failing.attempts, (n) => n > 2, { what: 'the consumer retrying' })
      const watcher = new ConsumerBehindWatcher({ alerts: ctx.alerts, subscriptions: [stuck], behindMs: 50 })
      await eventually(
        async () => {
          await watcher.check()
          return hook.texts
        },
        (texts) => texts.some((t) => /^\[tidings\] consumer_behind CONSUMER_BEHIND at alerting\.patient ← alerting\.jobs: `2 events unread, the oldest \d+ s old`( \(×\d+\))?$/.test(t)),
        { what: 'the consumer-behind alert' },
      )
      failing.on = false
      await eventually(() => stuck.lag(), (lag) => lag['alerting.jobs']!.events === 0, { what: 'the consumer caught up' })
      const raisedBefore = ctx.alerts.recent().find((a) => a.kind === 'consumer_behind')!.count
      await watcher.check()
      expect(ctx.alerts.recent().find((a) => a.kind === 'consumer_behind')!.count).toBe(raisedBefore)
    })
  })
}
