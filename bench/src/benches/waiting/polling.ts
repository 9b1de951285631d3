import http from 'node:http'
import { sameAnswers } from '../board-read'
import { ChildServer } from '../../lib/child'
import { MachineBusy } from '../../lib/cpu'
import { seconds } from '../../lib/env'
import { openLoop } from '../../lib/load'
import type { Report } from '../../lib/report'
import { distribution, formatMs, formatRate } from '../../lib/stats'
import { redisPid } from '../../lib/waiting-room'
import type { Workbench } from '../../lib/workbench'
import { WRK_SCRIPTS, wrkFor, type WrkResult } from '../../lib/wrk'
import { tokensFile, type HttpRoom } from './http-room'
import { cpuSince, headersOf, perOp } from './measure'
import { seededRandom } from '@tidings/testing'

const CONNECTIONS = 100
/** The admission rate behind `estimatedWaitSeconds` is counted over this window (admission-rates.ts). */
const RATE_WINDOW_MS = 5 * 60_000

/**
 * Figure 22: GET /api/queue/:token for tokens drawn at random among everyone waiting in the spike's room
 * (wrk, 100 connections, poll.lua), against the bare node:http server answering every one of those
 * paths with the bytes the app answers (checked on a sample): bare, app, app, bare. 22b: the p99 of an
 * answer at half the app's rate, open loop from this process over 100 keep-alive connections opened before
 * (due time → answer, no coordinated omission; no connection opened while measuring: a busy Node server
 * accepts new ones slowly, see figure 21b).
 */
export async function statusPolling(bench: Workbench, report: Report, room: HttpRoom, concertId: string): Promise<void> {
  const keys = room.keys(concertId)
  const line = await room.redis.zrange(keys.waiting, '0', '-1')
  const admitted = await room.redis.zcount(keys.activated, `(${Date.now() - RATE_WINDOW_MS}`, '+inf')
  const rate = (admitted * 1000) / RATE_WINDOW_MS
  // What the app answers, built from the line as the store keeps it (waiting-room.ts's waitingView).
  const body = (token: string, position: number) =>
    JSON.stringify({ token, concertId, status: 'WAITING', position, estimatedWaitSeconds: rate > 0 ? Math.ceil(position / rate) : null, activeUntil: null })
  const first = await room.api.request('GET', `/api/queue/${line[0]}`)
  const headers = headersOf(first.rawHeaders)
  const bare = await ChildServer.start('./bare-server.ts', 'bare node:http', {})
  bench.adopt(() => bare.stop())
  await bare.call('documents', line.map((token, i) => [`/api/queue/${token}`, body(token, i + 1), headers]))
  const random = seededRandom(22)
  const sample = Array.from({ length: 20 }, () => Math.floor(random() * line.length))
  const served = await Promise.all(sample.map(async (i) => ({ path: `/api/queue/${line[i]}`, answer: await room.api.request('GET', `/api/queue/${line[i]}`) })))
  await sameAnswers(bare.url, served)
  const paths = await tokensFile(room, 'polls.txt', line.map((token) => `/api/queue/${token}`))

  const pids = { redis: redisPid() }
  const load = (server: ChildServer, s: number) => wrkFor({ url: server.url, connections: CONNECTIONS, threads: 2, seconds: s, script: WRK_SCRIPTS.poll, args: [paths] })
  const runs: Record<'bare' | 'app', Array<{ result: WrkResult; spent: Record<string, number> }>> = { bare: [], app: [] }
  const run = async (which: 'bare' | 'app') => {
    const server = which === 'bare' ? bare : room.server
    const spent = cpuSince({ ...pids, server: server.pid })
    const result = await load(server, seconds(4) / 1000)
    if (result.failed > 0 || result.socketErrors) throw new Error(`figure 22 (${which}): ${result.failed} failed answers, socket errors ${result.socketErrors ?? 'none'}`)
    runs[which].push({ result, spent: { ...spent(), wrk: result.wrkCpuMs } })
  }
  await load(bare, 2)
  await load(room.server, 2)
  await run('bare')
  await run('app')
  await run('app')
  await run('bare')
  await bare.stop()

  const sum = (which: 'bare' | 'app') => {
    const ops = runs[which].reduce((n, r) => n + r.result.requests, 0)
    const ms = runs[which].reduce((n, r) => n + r.result.ms, 0)
    const spent: Record<string, number> = {}
    for (const { spent: s } of runs[which]) for (const [k, v] of Object.entries(s)) spent[k] = (spent[k] ?? 0) + v
    return { ops, ms, perSecond: (ops * 1000) / ms, spent }
  }
  const [h, app] = [sum('bare'), sum('app')]
  const ratio = app.perSecond / h.perSecond
  report.add({
    id: '22',
    figure: `status polling: GET /api/queue/:token, random tokens among ${line.length.toLocaleString('en-US')} waiting, ${CONNECTIONS} connections (wrk) / H`,
    value: formatRate(app.perSecond, 'req/s'),
    ceiling: `H: bare node:http ${formatRate(h.perSecond, 'req/s')}`,
    ratio,
    goal: '≥ 0.50',
    met: ratio >= 0.5,
  })
  const names = { server: 'server process', redis: 'Redis', wrk: 'wrk' }
  const serverSide = (s: Record<string, number>, ops: number) => ((s.server! + (Number.isFinite(s.redis) ? s.redis! : 0)) * 1000) / ops
  report.detail(
    `22 CPU per request: app ${perOp(app.spent, app.ops, names)}; bare ${perOp(h.spent, h.ops, names)} → server-side (process + Redis) bare/app ${(serverSide(h.spent, h.ops) / serverSide(app.spent, app.ops)).toFixed(2)}; ` +
      `wrk p50/p99 app ${runs.app.map((r) => `${r.result.latency?.p50.toFixed(1)}/${r.result.latency?.p99.toFixed(1)}`).join(', ')} ms`,
  )

  // 22b: half the app's rate, open loop over 100 keep-alive connections opened first (as many as wrk's), after
  // 2 s at that rate (uncounted). A request finding them all busy waits for one: that wait counts.
  const half = app.perSecond / 2
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const { hostname, port } = new URL(room.server.url)
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const request = http.get({ agent, hostname, port, path }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      request.on('error', reject)
    })
  let latencies: number[] = []
  const poll = async (_: number, dueAt: number) => {
    const status = await get(`/api/queue/${line[Math.floor(random() * line.length)]!}`)
    if (status !== 200) throw new Error(`figure 22b: a poll answered ${status}`)
    latencies.push(performance.now() - dueAt)
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, () => get(`/api/queue/${line[0]}`)))
  await openLoop(half, 2_000, poll)
  latencies = []
  const busy = new MachineBusy()
  const paced = await openLoop(half, seconds(8), poll)
  const machine = busy.stop()
  agent.destroy()
  const d = distribution(latencies)
  report.add({
    id: '22b',
    figure: `status polling at half that rate (${formatRate(half, 'req/s')}, open loop over ${CONNECTIONS} keep-alive connections): p50 / p99 of due → answer`,
    value: `${formatMs(d.p50)} / ${formatMs(d.p99)}`,
    goal: 'p99 ≤ 10 ms',
    met: d.p99 <= 10,
  })
  report.detail(`22b: ${d.count} requests, p90 ${formatMs(d.p90)}, max ${formatMs(d.max)}, at most ${paced.maxOutstanding} in flight, the scheduler late by ≤ ${formatMs(paced.maxLateMs)}; ${machine}`)
}
