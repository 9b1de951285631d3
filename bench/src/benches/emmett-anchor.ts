import type { Round } from '../../anchors/emmett/side'
import { ChildServer } from '../lib/child'
import { cpuMsOf } from '../lib/cpu'
import { seconds } from '../lib/env'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'

/**
 * Figures 9m, 9ml, 9mc: the board's comment against a peer, Emmett 0.42 (`bench/anchors/emmett/`), on the
 * same PostgreSQL in the same run. Each side is an application in a process of its own on a database of its
 * own: 16 in-process writers commenting on 100 posts (figure 9's order) through its command, and its
 * asynchronous consumer keeping one document per post in the same process. Rounds alternate (Tidings,
 * Emmett, twice, after a 1 s warm-up of each); after each round the side's consumer catches up, and that
 * time is the lag. Sustained = comments over the writers' time plus the lag; CPU per comment = the side's
 * process (process.cpuUsage) plus its database's backends (/proc), over the writers and the catch-up.
 */
type SideName = 'tidings' | 'emmett'

const LABEL: Record<SideName, string> = { tidings: 'Tidings (the board)', emmett: 'Emmett 0.42' }

interface SideRuns {
  rounds: Round[]
  /** CPU of the side's PostgreSQL backends over its rounds. */
  databaseMs: number
}

export async function emmettAnchor(bench: Workbench, report: Report): Promise<void> {
  const sides = {} as Record<SideName, RunningSide>
  for (const name of ['tidings', 'emmett'] as const) {
    const started = performance.now()
    sides[name] = await startSide(bench, name)
    console.log(`     (${LABEL[name]}: started and seeded 16 members, 100 posts in ${((performance.now() - started) / 1000).toFixed(1)} s)`)
  }
  const runs: Record<SideName, SideRuns> = { tidings: { rounds: [], databaseMs: 0 }, emmett: { rounds: [], databaseMs: 0 } }
  const round = async (name: SideName, ms: number, keep: boolean) => {
    const { server, database } = sides[name]
    await server.call('caughtUp', {})
    const backends = () => databaseBackends(bench, database)
    const before = new Map((await backends()).map((pid) => [pid, cpuMsOf(pid)] as const))
    const result = await server.call<Round>('round', { ms })
    let databaseMs = 0
    for (const pid of new Set([...before.keys(), ...(await backends())])) {
      const end = cpuMsOf(pid)
      if (end !== undefined) databaseMs += end - (before.get(pid) ?? 0)
    }
    if (keep) {
      runs[name].rounds.push(result)
      runs[name].databaseMs += databaseMs
    }
  }

  for (const name of ['tidings', 'emmett'] as const) await round(name, seconds(1), false)
  for (let i = 0; i < 2; i++) for (const name of ['tidings', 'emmett'] as const) await round(name, seconds(4), true)
  const counters = await sides.emmett.server.call<Record<string, number>>('counters')
  for (const name of ['tidings', 'emmett'] as const) await sides[name].stop()

  const t = summary(runs.tidings)
  const e = summary(runs.emmett)
  const rate = t.sustained / e.sustained
  const lag = t.lagMs / e.lagMs
  report.add({
    id: '9m',
    figure: 'comments, 16 in-process writers on 100 posts with a post-document consumer: Tidings (the board) / Emmett 0.42, sustained',
    value: formatRate(t.sustained, 'comments/s'),
    ceiling: `Emmett ${formatRate(e.sustained, 'comments/s')}`,
    ratio: rate,
    goal: '≥ 1.50 at ≤ lag',
    met: rate >= 1.5 && lag <= 1,
  })
  report.add({
    id: '9ml',
    figure: 'consumer lag when the writers stop (until the post documents show every comment), mean of the rounds: Tidings / Emmett',
    value: `${(t.lagMs / 1000).toFixed(2)} s (${t.behind.join(' / ')} events)`,
    ceiling: `Emmett ${(e.lagMs / 1000).toFixed(2)} s (${e.behind.join(' / ')} events)`,
    ratio: lag,
    goal: '≤ 1.00',
    met: lag <= 1,
  })
  report.add({
    id: '9mc',
    figure: 'CPU per comment, its process + its PostgreSQL backends, writers and catch-up: Tidings / Emmett',
    value: `${t.cpuUs.toFixed(0)} µs`,
    ceiling: `Emmett ${e.cpuUs.toFixed(0)} µs`,
    ratio: t.cpuUs / e.cpuUs,
  })
  for (const [name, s] of [['tidings', t], ['emmett', e]] as const) {
    report.detail(
      `anchor ${LABEL[name]}: ${s.ops} comments in ${(s.ms / 1000).toFixed(1)} s, closed loop ${formatRate(s.perSecond, 'comments/s')}, sustained ${formatRate(s.sustained, 'comments/s')}; ` +
        `behind when the writers stopped ${s.behind.join(' / ')} events, caught up after ${s.lags.map((ms) => (ms / 1000).toFixed(2)).join(' / ')} s; ` +
        `CPU per comment: process ${s.processUs.toFixed(0)} + PostgreSQL ${s.databaseUs.toFixed(0)} = ${s.cpuUs.toFixed(0)} µs`,
    )
  }
  report.detail(
    `anchor: Tidings / Emmett closed loop ${(t.perSecond / e.perSecond).toFixed(2)}, sustained ${rate.toFixed(2)}, lag ${lag.toFixed(2)}; Emmett ${Object.entries(counters)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; Emmett consumer pulling: batch ${process.env.BENCH_EMMETT_BATCH ?? '100 (default)'}, every ${process.env.BENCH_EMMETT_PULL_MS ?? '50 (default)'} ms`,
  )
}

interface RunningSide {
  server: ChildServer
  database: string
  /** Stops the process and drops its database (idempotent). */
  stop(): Promise<void>
}

/** A side's process on a fresh database (dropped when it stops, or at the end of the run). */
async function startSide(bench: Workbench, name: SideName): Promise<RunningSide> {
  const url = await bench.serverDatabase(`anchor_${name}`)
  const server = await ChildServer.start(`../../anchors/emmett/${name}-side.ts`, `${name} side`, { [`BENCH_${name.toUpperCase()}_URL`]: url })
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      await server.stop()
      await bench.dropDatabase(url)
    })())
  bench.adopt(stop)
  return { server, database: new URL(url).pathname.slice(1), stop }
}

async function databaseBackends(bench: Workbench, database: string): Promise<number[]> {
  const result = await bench.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])
  return result.rows.map((r) => Number(r.pid))
}

function summary(runs: SideRuns) {
  const ops = runs.rounds.reduce((n, r) => n + r.ops, 0)
  const ms = runs.rounds.reduce((n, r) => n + r.ms, 0)
  const lags = runs.rounds.map((r) => r.lagMs)
  const lagTotal = lags.reduce((a, b) => a + b, 0)
  const processMs = runs.rounds.reduce((n, r) => n + r.cpuMs, 0)
  return {
    ops,
    ms,
    perSecond: (ops * 1000) / ms,
    sustained: (ops * 1000) / (ms + lagTotal),
    lags,
    lagMs: lagTotal / lags.length,
    behind: runs.rounds.map((r) => r.behind),
    processUs: (processMs * 1000) / ops,
    databaseUs: (runs.databaseMs * 1000) / ops,
    cpuUs: ((processMs + runs.databaseMs) * 1000) / ops,
  }
}
