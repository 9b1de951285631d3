import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { browserAvailable, CHROMIUM_PATH, launchBrowser } from '@tidings/testing/browser'
import { layoutShiftScore, recordLayoutShifts, SERVER_MAIN } from '@tidings/server/test-kit'
import { BoardClient, type PostDocument, type PostList } from '@tidings/board/test-kit'
import { startProcess, type ManagedProcess } from '@tidings/testing'
import { ChildServer } from '../lib/child'
import { seconds } from '../lib/env'
import { expectClean, httpLoad, KeepAliveClient, PhaseCpu, type Answer } from '../lib/http-load'
import { wrkInstalled, wrkPaths } from '../lib/wrk'
import { until } from '../lib/load'
import type { Report } from '../lib/report'
import { distribution, formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { replayedHeaders, sameAnswers } from './board-read'

/**
 * Figures 12 and 13: the board's server-rendered pages and the console as `npm start` serves them on the
 * embedded default (PGlite on disk), in a real child process, against a bare `node:http` server answering
 * the same paths with the same bytes and headers, in the same run.
 *
 * 12 (one row per page): first paint in Chromium. Every load is a fresh browser context (empty cache, new
 * connection); the board and the bare server alternate. FCP from the `paint` entries, TTFB from the
 * navigation entry's `responseStart`, CLS from the layout-shift observer the browser tests use.
 * 13: the list page and a post page at 16 connections against the bare server; and the list page against
 * the JSON list it calls in process (what rendering HTML costs on top of the API).
 */
const MAIN = SERVER_MAIN
const POSTS = 30
const COMMENTS = 20
const CONNECTIONS = 16
const JSON_LIST = '/api/board/posts'
/**
 * Loads per page and side: 20, or as many rounds as fit in the paint budget (at least 5). A load in a
 * fresh context takes ~1 s of wall time on a 2-core VM (about half of it Chromium starting the context's
 * renderer, outside the measured times), so ~9 of the 20 rounds fit in 70 s there.
 * BENCH_WEB_LOADS=n makes exactly n, whatever they take.
 */
const FORCED_LOADS = process.env.BENCH_WEB_LOADS ? Math.max(1, Number.parseInt(process.env.BENCH_WEB_LOADS, 10)) : undefined
const LOADS = FORCED_LOADS ?? 20
const MIN_LOADS = Math.min(LOADS, 5)
const PAINT_BUDGET_MS = seconds(70)
const VIEWPORT = { width: 1024, height: 800 }
const FCP_GOAL_MS = 1_000

const TEXT =
  'A post of ordinary length on the board: a few sentences that wrap over two or three lines of the list and the page, as members write them.'

interface Page {
  id: string
  name: string
  /** As the figure names it. */
  label: string
  path: string
  /** What it answers (200 unless given). */
  status?: number
}

interface RunningMain {
  process: ManagedProcess
  url: string
  startedMs: number
  stop(): Promise<void>
}

export async function webPages(bench: Workbench, report: Report): Promise<void> {
  const main = await startMain(bench)
  try {
    console.log(`     (npm start listened after ${(main.startedMs / 1000).toFixed(1)} s: PGlite on disk in a fresh temporary directory)`)
    const postId = await seed(main.url)
    const pages: Page[] = [
      { id: '12', name: 'list', label: 'GET / (list, 20 posts, signed out)', path: '/' },
      { id: '12p', name: 'post', label: 'GET /posts/:id (20 comments, signed out)', path: `/posts/${postId}` },
      { id: '12l', name: 'login', label: 'GET /login', path: '/login' },
      // Without an operator's session the console answers its sign-in page (403).
      { id: '12c', name: 'console', label: 'GET /console (signed out: its sign-in page, 403)', path: '/console', status: 403 },
    ]
    // What each page loads besides itself: the bare server must answer them too, so both sides load the same.
    const assets = ['/assets/board.js', '/console/assets/console.js']
    // And the JSON list (13l): its bytes, for its ceiling.
    const served = await fetchAll(main.url, [...pages, ...[...assets, JSON_LIST].map((path) => ({ path }))])

    const bare = await ChildServer.start('./bare-server.ts', 'bare node:http', {})
    bench.adopt(() => bare.stop())
    await bare.call('documents', served.map(({ path, answer }) => [path, answer.body, replayedHeaders(answer.rawHeaders), answer.status]))
    await sameAnswers(bare.url, served)
    const bytes = Object.fromEntries(served.map(({ path, answer }) => [path, Buffer.byteLength(answer.body)]))
    report.detail(`web: pages ${pages.map((p) => `${p.name} ${bytes[p.path]!.toLocaleString('en-US')}`).join(', ')} bytes; assets ${assets.map((a) => `${a} ${bytes[a]!.toLocaleString('en-US')}`).join(', ')} bytes`)

    await paint(report, pages, main.url, bare.url)
    await throughput(report, main, bare, pages[0]!.path, pages[1]!.path)
    await bare.stop()
  } finally {
    await main.stop()
  }
}

/** `npm start`'s command (node + tsx, apps/server/src/main.ts) on a fresh data directory, PORT=0. */
async function startMain(bench: Workbench): Promise<RunningMain> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tidings-bench-web-'))
  const started = performance.now()
  const child = startProcess('npm start', MAIN, {
    PORT: '0',
    TIDINGS_DATA_DIR: dataDir,
    DATABASE_URL: '',
    VIEW_DATABASE_URL: '',
    TIDINGS_OPERATOR_TOKEN: '',
  })
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      // Graceful as Ctrl-C would be; SIGKILL if it hangs.
      const kill = setTimeout(() => void child.kill('SIGKILL'), 10_000)
      await child.kill('SIGTERM')
      clearTimeout(kill)
      await rm(dataDir, { recursive: true, force: true })
    })())
  bench.adopt(stop)
  const line = await child.waitForLine((l) => l.includes('listening on'), 120_000)
  const { port } = JSON.parse(line) as { port: number }
  return { process: child, url: `http://127.0.0.1:${port}`, startedMs: performance.now() - started, stop }
}

/**
 * One member writes 30 posts, a second comments 20 times on the last one, all through the JSON API; then
 * waits until the list (with the session's positions) shows every post, and the post all its comments,
 * with nicknames. Returns the commented post's id.
 */
async function seed(url: string): Promise<string> {
  const started = performance.now()
  const api = new BoardClient(url)
  const writer = await api.newMember('webw')
  const commenter = await api.newMember('webc')
  let postId = ''
  for (let p = 0; p < POSTS; p++) {
    const created = await api.createPost(writer, { title: `Post ${p}: a title of ordinary length`, content: `${TEXT}\n\n${TEXT}` })
    if (created.status !== 201) throw new Error(`POST /api/posts: ${created.status} ${JSON.stringify(created.body)}`)
    postId = created.body.postId
  }
  for (let c = 0; c < COMMENTS; c++) {
    const added = await api.addComment(commenter, postId, `Comment ${c}. ${TEXT}`)
    if (added.status !== 201) throw new Error(`POST /api/posts/${postId}/comments: ${added.status} ${JSON.stringify(added.body)}`)
  }
  const written = performance.now()
  const fresh = { headers: { 'Tidings-Position': api.session() } }
  await until(
    'the list and the post to show the seeded data',
    async () => {
      const list = await api.call<PostList>('GET', `/api/board/posts?limit=${POSTS + 10}`, fresh)
      const post = await api.call<PostDocument>('GET', `/api/board/posts/${postId}`, fresh)
      return (
        list.status === 200 &&
        list.headers.get('tidings-stale') === null &&
        list.body.items.length === POSTS &&
        list.body.items.every((item) => item.writer.nickname !== null) &&
        post.status === 200 &&
        post.body.comments.length === COMMENTS &&
        post.body.comments.every((comment) => comment.author.nickname !== null)
      )
    },
    60_000,
  )
  console.log(
    `     (seeded 2 members, ${POSTS} posts, ${COMMENTS} comments on one in ${((written - started) / 1000).toFixed(1)} s; the list showed them ${((performance.now() - written) / 1000).toFixed(1)} s later)`,
  )
  return postId
}

async function fetchAll(url: string, paths: Array<{ path: string; status?: number }>): Promise<Array<{ path: string; answer: Answer }>> {
  const http = new KeepAliveClient(new URL(url))
  try {
    const served: Array<{ path: string; answer: Answer }> = []
    for (const { path, status = 200 } of paths) {
      const answer = await http.request('GET', path)
      if (answer.status !== status) throw new Error(`GET ${path}: ${answer.status} ${answer.body.slice(0, 200)}`)
      served.push({ path, answer })
    }
    return served
  } finally {
    http.close()
  }
}

interface PaintSample {
  fcp: number
  ttfb: number
  cls: number
}

/**
 * Resolves with the first contentful paint (waiting for it if the load event came first) and the
 * navigation's responseStart, two frames later so that a shift right after the first paint counts too.
 */
const PAINT_TIMING = `new Promise((resolve) => {
  const nav = performance.getEntriesByType('navigation')[0]
  const settle = (fcp) => requestAnimationFrame(() => requestAnimationFrame(() => resolve({ fcp, ttfb: nav ? nav.responseStart : null })))
  const fcpOf = (entries) => entries.find((e) => e.name === 'first-contentful-paint')
  const now = fcpOf(performance.getEntriesByType('paint'))
  if (now) return settle(now.startTime)
  new PerformanceObserver((list, observer) => {
    const entry = fcpOf(list.getEntries())
    if (entry) { observer.disconnect(); settle(entry.startTime) }
  }).observe({ type: 'paint', buffered: true })
  setTimeout(() => resolve({ fcp: null, ttfb: nav ? nav.responseStart : null }), 10000)
})`

type Browser = Awaited<ReturnType<typeof launchBrowser>>
type Context = Awaited<ReturnType<Browser['newContext']>>

/** A fresh context (empty cache, no connections) with one blank page, the layout-shift recorder installed. */
async function freshTab(browser: Browser): Promise<{ context: Context; page: Awaited<ReturnType<Context['newPage']>> }> {
  const context = await browser.newContext({ viewport: VIEWPORT })
  await context.addInitScript(recordLayoutShifts)
  return { context, page: await context.newPage() }
}

async function loadOnce({ page }: Awaited<ReturnType<typeof freshTab>>, url: string, status = 200): Promise<PaintSample> {
  const response = await page.goto(url, { waitUntil: 'load' })
  if (response?.status() !== status) throw new Error(`${url}: ${response?.status()}`)
  const timing = (await page.evaluate(PAINT_TIMING)) as { fcp: number | null; ttfb: number | null }
  if (timing.fcp === null || timing.ttfb === null) throw new Error(`${url}: no first-contentful-paint within 10 s`)
  return { fcp: timing.fcp, ttfb: timing.ttfb, cls: await layoutShiftScore(page) }
}

async function paint(report: Report, pages: Page[], boardUrl: string, bareUrl: string): Promise<void> {
  let available: boolean
  let reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set TIDINGS_CHROMIUM)`
  try {
    available = browserAvailable()
  } catch (error) {
    available = false
    reason = error instanceof Error ? error.message : String(error)
  }
  let browser: Browser | undefined
  if (available) {
    try {
      browser = await launchBrowser()
    } catch (error) {
      reason = `Chromium at ${CHROMIUM_PATH} did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`
    }
  }
  if (!browser) {
    console.log(`  12. first paint: SKIPPED, ${reason}`)
    report.detail(`web first paint (12): skipped, ${reason}`)
    return
  }
  try {
    console.log(
      `     (Chromium ${browser.version()}, headless, viewport ${VIEWPORT.width}×${VIEWPORT.height}; up to ${LOADS} loads per page and side${FORCED_LOADS === undefined ? ` in ${PAINT_BUDGET_MS / 1000} s` : ''}, each in a fresh context)`,
    )
    const samples = new Map(pages.map((p) => [p.path, { board: [] as PaintSample[], bare: [] as PaintSample[] }]))
    // One discarded load per side first (Chromium's first loads pay for its own start-up), then rounds of
    // every page on both sides, the board and the bare server alternating which goes first. Setting up the
    // next tab (a new renderer process: most of a load's wall time) overlaps with closing the last one,
    // never with a load.
    const started = performance.now()
    let next = freshTab(browser)
    let closing: Promise<void> = Promise.resolve()
    const load = async (page: Page, side: 'board' | 'bare'): Promise<PaintSample> => {
      const tab = await next
      await closing
      try {
        return await loadOnce(tab, `${side === 'board' ? boardUrl : bareUrl}${page.path}`, page.status)
      } finally {
        closing = tab.context.close()
        next = freshTab(browser)
      }
    }
    let rounds = 0
    try {
      await load(pages[0]!, 'board')
      await load(pages[0]!, 'bare')
      const deadline = performance.now() + PAINT_BUDGET_MS
      for (; rounds < LOADS && (FORCED_LOADS !== undefined || rounds < MIN_LOADS || performance.now() < deadline); rounds++) {
        for (const page of pages) {
          for (const side of rounds % 2 === 0 ? (['board', 'bare'] as const) : (['bare', 'board'] as const)) samples.get(page.path)![side].push(await load(page, side))
        }
      }
    } finally {
      await closing
      await next.then((tab) => tab.context.close()).catch(() => {})
    }
    const loadsMs = performance.now() - started
    for (const page of pages) {
      const { board, bare } = samples.get(page.path)!
      const fcp = distribution(board.map((s) => s.fcp))
      const bareFcp = distribution(bare.map((s) => s.fcp))
      const ttfb = distribution(board.map((s) => s.ttfb))
      const bareTtfb = distribution(bare.map((s) => s.ttfb))
      const cls = Math.max(...board.map((s) => s.cls))
      const bareCls = Math.max(...bare.map((s) => s.cls))
      report.add({
        id: page.id,
        figure: `first paint, ${page.label}, ${rounds} loads in fresh contexts; FCP p50/p95, TTFB p50, max CLS${page.id === '12' ? ' (npm start, PGlite on disk)' : ''}`,
        value: `FCP ${formatMs(fcp.p50)} / ${formatMs(fcp.p95)}, TTFB ${formatMs(ttfb.p50)}, CLS ${formatCls(cls)}`,
        ceiling: `bare node:http FCP p50 ${formatMs(bareFcp.p50)}`,
        ratio: bareFcp.p50 / fcp.p50,
        goal: 'FCP p95 < 1 s, CLS 0',
        met: fcp.p95 < FCP_GOAL_MS && cls === 0,
      })
      report.detail(
        `web paint ${page.name}: board FCP p50 ${formatMs(fcp.p50)} p95 ${formatMs(fcp.p95)} max ${formatMs(fcp.max)}, TTFB p50 ${formatMs(ttfb.p50)} max ${formatMs(ttfb.max)}; ` +
          `bare FCP p50 ${formatMs(bareFcp.p50)} p95 ${formatMs(bareFcp.p95)} max ${formatMs(bareFcp.max)}, TTFB p50 ${formatMs(bareTtfb.p50)}, CLS ${formatCls(bareCls)}`,
      )
    }
    const cut = rounds < LOADS ? ` — ${rounds} of ${LOADS} rounds: the paint budget of ${PAINT_BUDGET_MS / 1000} s ran out (BENCH_WEB_LOADS=${LOADS} makes all)` : ''
    report.detail(`web paint: ${2 * rounds * pages.length} measured loads in ${(loadsMs / 1000).toFixed(1)} s (with 2 discarded warm-up loads)${cut}`)
  } finally {
    await browser.close()
  }
}

function formatCls(cls: number): string {
  return cls === 0 ? '0' : cls.toFixed(4)
}

/** One round of closed-loop load on one path: its requests, its time, and its latency percentiles (ms). */
interface Round {
  ops: number
  ms: number
  p50: number
  p99: number
}

/**
 * A round with `wrk` (C, epoll: it costs the server's machine little), or autocannon where wrk is not
 * installed (it costs as much CPU as the server and flatters the ratio; the detail line says which).
 */
async function round(url: string, path: string, seconds: number): Promise<Round> {
  if (wrkInstalled()) {
    const w = await wrkPaths({ url, connections: CONNECTIONS, seconds, paths: [path] })
    return { ops: w.requests, ms: w.ms, p50: w.latency?.p50 ?? Number.NaN, p99: w.latency?.p99 ?? Number.NaN }
  }
  const a = await httpLoad({ url, connections: CONNECTIONS, seconds, requestsFor: () => [{ method: 'GET', path }] })
  expectClean(`web ${url}${path}`, a)
  return { ops: a.ops, ms: a.ms, p50: a.latency.p50, p99: a.latency.p99 }
}

/** Rounds together: the rate over all of them, the worst round's percentiles. */
function combined(rounds: readonly Round[]): Round & { perSecond: number } {
  const ops = rounds.reduce((n, r) => n + r.ops, 0)
  const ms = rounds.reduce((n, r) => n + r.ms, 0)
  return { ops, ms, perSecond: (ops * 1000) / ms, p50: Math.max(...rounds.map((r) => r.p50)), p99: Math.max(...rounds.map((r) => r.p99)) }
}

/**
 * The list page and a post page against the bare server's same bytes, and the JSON list the list page
 * calls in process, against the bare server's copy of it: A B C D E F, then F E D C B A, after warm-ups.
 */
async function throughput(report: Report, main: RunningMain, bare: ChildServer, listPath: string, postPath: string): Promise<void> {
  const boardPid = main.process.child.pid!
  const phases = {
    list: { url: main.url, path: listPath, cpu: new PhaseCpu(boardPid) },
    bareList: { url: bare.url, path: listPath, cpu: new PhaseCpu(bare.pid) },
    post: { url: main.url, path: postPath, cpu: new PhaseCpu(boardPid) },
    barePost: { url: bare.url, path: postPath, cpu: new PhaseCpu(bare.pid) },
    json: { url: main.url, path: JSON_LIST, cpu: new PhaseCpu(boardPid) },
    bareJson: { url: bare.url, path: JSON_LIST, cpu: new PhaseCpu(bare.pid) },
  }
  type Phase = keyof typeof phases
  const runs: Record<Phase, Round[]> = { list: [], bareList: [], post: [], barePost: [], json: [], bareJson: [] }
  const phaseSeconds = Math.max(1, Math.round(seconds(2) / 1000))
  for (const which of ['list', 'bareList', 'post', 'json'] as const) await round(phases[which].url, phases[which].path, 1)
  const order = Object.keys(phases) as Phase[]
  for (const which of [...order, ...[...order].reverse()]) {
    runs[which].push(await phases[which].cpu.measure(() => round(phases[which].url, phases[which].path, phaseSeconds)))
  }

  const r = Object.fromEntries(order.map((k) => [k, combined(runs[k])])) as Record<Phase, ReturnType<typeof combined>>
  const rate = (x: ReturnType<typeof combined>) => `${formatRate(x.perSecond, 'req/s')}, p99 ${formatMs(x.p99)}`
  const generator = wrkInstalled() ? 'wrk' : 'autocannon (wrk not installed)'
  report.add({
    id: '13',
    figure: `GET / (list page, 20 posts rendered, signed out), ${CONNECTIONS} connections, ${generator}; req/s, p99 (npm start, PGlite on disk)`,
    value: rate(r.list),
    ceiling: `bare node:http ${formatRate(r.bareList.perSecond, 'req/s')}`,
    ratio: r.list.perSecond / r.bareList.perSecond,
    goal: '≥ 0.30',
    met: r.list.perSecond / r.bareList.perSecond >= 0.3,
  })
  report.add({
    id: '13p',
    figure: `GET /posts/:id (post page, 20 comments, signed out), ${CONNECTIONS} connections, ${generator}; req/s, p99`,
    value: rate(r.post),
    ceiling: `bare node:http ${formatRate(r.barePost.perSecond, 'req/s')}`,
    ratio: r.post.perSecond / r.barePost.perSecond,
    goal: '≥ 0.50',
    met: r.post.perSecond / r.barePost.perSecond >= 0.5,
  })
  report.add({
    id: '13l',
    figure: `GET /api/board/posts (the JSON list's first page, signed out), ${CONNECTIONS} connections, ${generator}; req/s, p99`,
    value: rate(r.json),
    ceiling: `bare node:http ${formatRate(r.bareJson.perSecond, 'req/s')}`,
    ratio: r.json.perSecond / r.bareJson.perSecond,
    goal: '≥ 0.50',
    met: r.json.perSecond / r.bareJson.perSecond >= 0.5,
  })
  report.add({
    id: '13j',
    figure: `the list page (13) against GET /api/board/posts, the JSON list it calls in process, ${CONNECTIONS} connections`,
    value: `list page ${formatRate(r.list.perSecond, 'req/s')}`,
    ceiling: `JSON list ${rate(r.json)}`,
    ratio: r.list.perSecond / r.json.perSecond,
  })
  const latency = (x: Round) => `p50 ${formatMs(x.p50)} p99 ${formatMs(x.p99)}`
  report.detail(
    `web throughput with ${generator} (${runs.list.length} rounds of ${phaseSeconds} s): list ${r.list.ops} req (${latency(r.list)}), bare ${r.bareList.ops} (${latency(r.bareList)}); ` +
      `post ${r.post.ops} (${latency(r.post)}), bare ${r.barePost.ops} (${latency(r.barePost)}); JSON list ${r.json.ops} (${latency(r.json)}), bare ${r.bareJson.ops} (${latency(r.bareJson)})`,
  )
  const us = (which: Phase) => phases[which].cpu.serverPerOp().toFixed(0)
  report.detail(
    `web server CPU per request: list page ${us('list')} µs, JSON list ${us('json')} µs, post page ${us('post')} µs; bare ${us('bareList')} / ${us('bareJson')} / ${us('barePost')} µs ` +
      `(ratios ${(phases.list.cpu.serverPerOp() / phases.bareList.cpu.serverPerOp()).toFixed(2)} / ${(phases.post.cpu.serverPerOp() / phases.barePost.cpu.serverPerOp()).toFixed(2)})`,
  )
}
