import { ChildServer } from '../lib/child'
import { seconds } from '../lib/env'
import { combineLoads, expectClean, httpLoad, KeepAliveClient, PhaseCpu, type HttpLoadResult } from '../lib/http-load'
import type { Report } from '../lib/report'
import { formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { wrkInstalled, wrkPaths, type WrkResult } from '../lib/wrk'
import { ENGINE_NAMES, READ_SHAPE, shuffled, withSeededBoard, type BoardEngine, type SeededBoard } from '../lib/board'

/**
 * Figures 7 and 8 (7e, 8e on PGlite): GET /api/board/posts/:id at 50 connections over 100 posts of 20
 * comments each, against a bare `node:http` server answering the same paths with the same bytes, measured
 * with the same load generator in the same run. 7 serves hot documents (the cache on, its default
 * capacity), 8 the same board recomposed with `hotDocuments: 0` (every read goes to the database).
 */
export const READ_CONNECTIONS = 50
const { posts: POSTS, commentsPerPost: COMMENTS_PER_POST } = READ_SHAPE
const HOT_DEFAULT = undefined // composeBoard's default capacity (10,000): all 100 posts fit

export function boardRead(bench: Workbench, report: Report, engine: BoardEngine, seeded?: SeededBoard): Promise<void> {
  return withSeededBoard(bench, engine, seeded, (s) => measureReads(bench, report, engine, s))
}

async function measureReads(bench: Workbench, report: Report, engine: BoardEngine, { board, data }: SeededBoard): Promise<void> {
  const name = ENGINE_NAMES[engine]
  const paths = data.postIds.map((id) => `/api/board/posts/${id}`)

  // The ceiling serves exactly what the board serves: bodies and headers are compared below.
  const http = new KeepAliveClient(new URL(board.server.url))
  const served = await Promise.all(paths.map(async (path) => ({ path, answer: await http.request('GET', path) })))
  http.close()
  for (const { path, answer } of served) if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${answer.body}`)
  const bare = await ChildServer.start('./bare-server.ts', 'bare node:http', {})
  bench.adopt(() => bare.stop())
  await bare.call('documents', served.map(({ path, answer }) => [path, answer.body, replayedHeaders(answer.rawHeaders)]))
  await sameAnswers(bare.url, served)
  const bytes = served.reduce((n, s) => n + Buffer.byteLength(s.answer.body), 0) / served.length

  // Every connection walks the 100 posts in its own random order, so the mix is even and concurrent
  // requests seldom ask for the same post at the same moment.
  const requestsFor = (connection: number) => shuffled(paths, connection + 1).map((path) => ({ method: 'GET', path }))
  const load = (url: string, s: number) => httpLoad({ url, connections: READ_CONNECTIONS, seconds: s, requestsFor })
  const phase = seconds(2) / 1000
  const cpu = { bare: new PhaseCpu(bare.pid), hot: new PhaseCpu(board.server.pid, board.backends), cold: new PhaseCpu(board.server.pid, board.backends) }
  const runs: Record<keyof typeof cpu, HttpLoadResult[]> = { bare: [], hot: [], cold: [] }
  const cache = { hot: { hits: 0, misses: 0, loads: 0 }, cold: { hits: 0, misses: 0, loads: 0 } }
  const run = async (which: keyof typeof cpu) => {
    const server = which === 'bare' ? bare : board.server
    const before = which === 'bare' ? undefined : await board.server.call<CacheStats>('cache')
    const result = await cpu[which].measure(() => load(server.url, phase))
    expectClean(`${name} read (${which})`, result)
    runs[which].push(result)
    if (before && which !== 'bare') {
      const after = await board.server.call<CacheStats>('cache')
      cache[which].hits += after.hits - before.hits
      cache[which].misses += after.misses - before.misses
      cache[which].loads += after.loads - before.loads
    }
  }
  const recompose = async (hotDocuments: number | undefined) => {
    await board.server.call('compose', { hotDocuments })
    await board.server.call('caughtUp', {})
    expectClean(`${name} read warm-up`, await load(board.server.url, 1))
  }

  // Warm-up, then A B C C B A: each side sees the same drift in background load.
  expectClean('bare warm-up', await load(bare.url, 1))
  expectClean(`${name} read warm-up`, await load(board.server.url, 1))
  await run('bare')
  await run('hot')
  await recompose(0)
  await run('cold')
  await run('cold')
  await recompose(HOT_DEFAULT)
  await run('hot')
  await run('bare')
  const wrk = wrkInstalled() ? await hotWithWrk(bare.url, board.server.url, paths, { bare: new PhaseCpu(bare.pid), hot: new PhaseCpu(board.server.pid, board.backends) }) : undefined
  await bare.stop()

  const [ceiling, hot, cold] = [combineLoads(runs.bare), combineLoads(runs.hot), combineLoads(runs.cold)]
  const suffix = engine === 'pglite' ? 'e' : ''
  const where = engine === 'pglite' ? 'PGlite in memory' : 'PostgreSQL'
  const bareValue = `bare node:http ${formatRate(ceiling.perSecond, 'req/s')}`
  const ratio = hot.perSecond / ceiling.perSecond
  report.add({
    id: `7${suffix}`,
    figure: `GET /api/board/posts/:id, hot (cache on), ${READ_CONNECTIONS} connections, ${POSTS} posts × ${COMMENTS_PER_POST} comments; req/s, p99 (${where})`,
    value: `${formatRate(hot.perSecond, 'req/s')}, p99 ${formatMs(hot.latency.p99)}`,
    ceiling: bareValue,
    ratio,
    goal: '≥ 0.80',
    met: ratio >= 0.8,
  })
  report.add({
    id: `8${suffix}`,
    figure: `the same, uncached (hotDocuments: 0): every read a database query (${where})`,
    value: `${formatRate(cold.perSecond, 'req/s')}, p99 ${formatMs(cold.latency.p99)}`,
    ceiling: bareValue,
    ratio: cold.perSecond / ceiling.perSecond,
  })
  if (wrk) {
    const wrkRatio = wrk.hot.perSecond / wrk.bare.perSecond
    report.add({
      id: `7w${suffix}`,
      figure: `the same as 7${suffix}, hot, measured with wrk (C, 2 threads: it costs the server's machine less than autocannon) (${where})`,
      value: `${formatRate(wrk.hot.perSecond, 'req/s')}, p99 ${formatMs(wrk.hot.latency?.p99 ?? Number.NaN)}`,
      ceiling: `bare node:http ${formatRate(wrk.bare.perSecond, 'req/s')}`,
      ratio: wrkRatio,
      goal: '≥ 0.80',
      met: wrkRatio >= 0.8,
    })
    const cpuRatio = wrk.cpu.hot.serverPerOp() / wrk.cpu.bare.serverPerOp()
    report.add({
      id: `7c${suffix}`,
      figure: `server CPU per hot read (server process + database) / the bare server's, under wrk (${where})`,
      value: `${wrk.cpu.hot.serverPerOp().toFixed(1)} µs`,
      ceiling: `bare ${wrk.cpu.bare.serverPerOp().toFixed(1)} µs`,
      ratio: cpuRatio,
      goal: '≤ 1.3',
      met: cpuRatio <= 1.3,
    })
  } else console.log('     SKIPPED 7w, 7c: wrk is not installed (apt-get install -y wrk)')
  const latency = (r: HttpLoadResult) => `p50 ${formatMs(r.latency.p50)} p99 ${formatMs(r.latency.p99)} max ${formatMs(r.latency.max)}`
  report.detail(
    `read ${name}: document ${Math.round(bytes).toLocaleString('en-US')} bytes on average; bare ${ceiling.ops} req in ${(ceiling.ms / 1000).toFixed(0)} s (${latency(ceiling)}), ` +
      `hot ${hot.ops} (${latency(hot)}), uncached ${cold.ops} (${latency(cold)})`,
  )
  report.detail(`read ${name} CPU: bare ${cpu.bare.perOp()}; hot ${cpu.hot.perOp()}; uncached ${cpu.cold.perOp()}`)
  // Wall-clock rates on a shared 2-core machine move with everything else that runs; CPU per request
  // hardly does: the server-side CPU of the bare server over the board's is the same ratio, load aside.
  report.detail(
    `read ${name} server-side CPU per request (server process + database): bare ${cpu.bare.serverPerOp().toFixed(0)} µs, hot ${cpu.hot.serverPerOp().toFixed(0)} µs, ` +
      `uncached ${cpu.cold.serverPerOp().toFixed(0)} µs → bare/hot ${(cpu.bare.serverPerOp() / cpu.hot.serverPerOp()).toFixed(2)}, bare/uncached ${(cpu.bare.serverPerOp() / cpu.cold.serverPerOp()).toFixed(2)}`,
  )
  report.detail(
    `read ${name} cache: hot ${pct(cache.hot.hits, cache.hot.hits + cache.hot.misses)} hits, ${cache.hot.loads} database reads; ` +
      `uncached ${cache.cold.loads} database reads for ${cache.cold.misses} requests (${pct(cache.cold.misses - cache.cold.loads, cache.cold.misses)} joined a read in flight for the same post)`,
  )
}

/** Figure 7 again with wrk: bare, hot, hot, bare (2 s each), the server CPU of each side per request. */
async function hotWithWrk(bareUrl: string, boardUrl: string, paths: string[], cpu: { bare: PhaseCpu; hot: PhaseCpu }) {
  const phase = Math.max(1, Math.round(seconds(2) / 1000))
  const runs: Record<'bare' | 'hot', WrkResult[]> = { bare: [], hot: [] }
  for (const which of ['bare', 'hot', 'hot', 'bare'] as const) {
    runs[which].push(await cpu[which].measure(() => wrkPaths({ url: which === 'bare' ? bareUrl : boardUrl, connections: READ_CONNECTIONS, seconds: phase, paths })))
  }
  const combined = (results: WrkResult[]) => {
    const requests = results.reduce((n, r) => n + r.requests, 0)
    const ms = results.reduce((n, r) => n + r.ms, 0)
    const p99s = results.map((r) => r.latency?.p99 ?? Number.NaN)
    return { perSecond: (requests * 1000) / ms, latency: { p99: Math.max(...p99s) } }
  }
  return { bare: combined(runs.bare), hot: combined(runs.hot), cpu }
}

interface CacheStats {
  hits: number
  misses: number
  loads: number
  size: number
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '—'
}

/** The board's headers for the bare server to send (Content-Type, Cache-Control, CSP, …); Node adds the per-connection ones. */
export function replayedHeaders(raw: string[]): Record<string, string> {
  const perConnection = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])
  const headers: Record<string, string> = {}
  for (let i = 0; i < raw.length; i += 2) if (!perConnection.has(raw[i]!.toLowerCase())) headers[raw[i]!] = raw[i + 1]!
  return headers
}

/** The ceiling must answer every path with the board's bytes and headers (Date aside). */
export async function sameAnswers(url: string, served: Array<{ path: string; answer: { body: string; rawHeaders: string[] } }>): Promise<void> {
  const http = new KeepAliveClient(new URL(url))
  try {
    const headerSet = (raw: string[]) =>
      raw
        .flatMap((v, i) => (i % 2 === 0 ? [`${v.toLowerCase()}: ${raw[i + 1]}`] : []))
        .filter((h) => !h.startsWith('date:'))
        .sort()
        .join('\n')
    for (const { path, answer } of served) {
      const theirs = await http.request('GET', path)
      if (theirs.body !== answer.body) throw new Error(`bare server: different body for ${path}`)
      if (headerSet(theirs.rawHeaders) !== headerSet(answer.rawHeaders)) {
        throw new Error(`bare server: different headers for ${path}:\n${headerSet(theirs.rawHeaders)}\nvs the board's\n${headerSet(answer.rawHeaders)}`)
      }
    }
  } finally {
    http.close()
  }
}
