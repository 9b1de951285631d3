import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type autocannon from 'autocannon'
import { startProcess, type ManagedProcess } from '@tidings/testing'
import { CLIENTS, SCALE } from '../lib/env'
import { combineLoads, httpLoad, type HttpLoadResult } from '../lib/http-load'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'

const serverScript = new URL('../lib/command-server.ts', import.meta.url)
const ROUND_SECONDS = Math.max(2, Math.round(4 * SCALE))

/**
 * Figure 18: a command over HTTP through `idempotent(uow)` with a fresh `Idempotency-Key` on every request
 * (the key claimed and the outcome and answer stored in the command's transaction) over the same command
 * without a key. Figure 18b: a route that fails (500) with alerts on — raised, counted, gathered and posted
 * to a local webhook — over the same with alerts off. Each pair on one server process (18) or two identical
 * ones (18b), 16 connections, after a warm-up of every arm, rounds alternated twice so both arms see the same machine.
 */
export async function commands(bench: Workbench, report: Report): Promise<void> {
  const received: string[] = []
  const webhook = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      received.push(body)
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
  bench.adopt(() => new Promise<void>((resolve) => webhook.close(() => resolve())))
  const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`

  const url = await bench.serverDatabase('commands')
  const start = async (name: string, env: Record<string, string>): Promise<string> => {
    const p: ManagedProcess = startProcess(name, serverScript, { DATABASE_URL: url, SCHEMA: 'bench_commands', ...env })
    bench.adopt(async () => void (await p.kill('SIGTERM')))
    const line = await p.waitForLine((l) => l.startsWith('listening '), 60_000)
    return `http://127.0.0.1:${line.slice('listening '.length)}`
  }
  const plain = await start('commands', { ALERTS: 'off' })
  const alerting = await start('commands-alerting', { ALERTS: 'on', WEBHOOK_URL: webhookUrl })

  const post = (base: string, keyed: boolean) =>
    httpLoad({
      url: base,
      connections: CLIENTS,
      seconds: ROUND_SECONDS,
      requestsFor: (): autocannon.Request[] => [
        {
          method: 'POST',
          path: '/commands',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          ...(keyed ? { setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) } : {}),
        },
      ],
    })
  const fail = (base: string) => httpLoad({ url: base, connections: CLIENTS, seconds: ROUND_SECONDS, requestsFor: () => [{ method: 'GET', path: '/fail' }] })
  const answered = (r: HttpLoadResult, status: string) => ((r.statusCodes[status] ?? 0) * 1000) / r.ms

  // Warm-up, not counted: each arm's code is compiled by the JIT before its first counted round.
  await Promise.all([post(plain, false), post(plain, true), fail(plain), fail(alerting)].map((warm) => warm.catch(() => {})))
  const [without, keyed]: [HttpLoadResult[], HttpLoadResult[]] = [[], []]
  for (let round = 0; round < 2; round++) {
    without.push(await post(plain, false))
    keyed.push(await post(plain, true))
  }
  const [w, k] = [combineLoads(without), combineLoads(keyed)]
  const ratio = k.perSecond / w.perSecond
  report.add({ id: '18', figure: 'idempotent command over HTTP (a fresh key each) / the same without a key', value: formatRate(k.perSecond, 'req/s'), ceiling: formatRate(w.perSecond, 'req/s'), ratio, goal: '≥ 0.9', met: ratio >= 0.9 })
  report.detail(`18: p50 ${k.latency.p50.toFixed(1)} ms keyed, ${w.latency.p50.toFixed(1)} ms without; non-2xx ${k.non2xx + w.non2xx}`)

  const [off, on]: [HttpLoadResult[], HttpLoadResult[]] = [[], []]
  for (let round = 0; round < 2; round++) {
    off.push(await fail(plain))
    on.push(await fail(alerting))
  }
  const offRate = off.reduce((n, r) => n + answered(r, '500') * r.ms, 0) / off.reduce((n, r) => n + r.ms, 0)
  const onRate = on.reduce((n, r) => n + answered(r, '500') * r.ms, 0) / on.reduce((n, r) => n + r.ms, 0)
  report.add({ id: '18b', figure: 'failing route (500) with alerts on, posted to a webhook / alerts off', value: formatRate(onRate, '500s/s'), ceiling: formatRate(offRate, '500s/s'), ratio: onRate / offRate, goal: '≥ 0.95', met: onRate / offRate >= 0.95 })
  report.detail(`18b: the webhook got ${received.length} message(s) for all of them (one problem, gathered)`)
}
