import { CLIENTS, DATABASE_URL, seconds } from '../lib/env'
import { combineLoads, expectClean, httpLoad, PhaseCpu, type HttpLoadResult } from '../lib/http-load'
import { closedLoop, combine, type Throughput } from '../lib/load'
import { findPgbench, pgbenchRound } from '../lib/pgbench'
import type { Report } from '../lib/report'
import { formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { rawOpenAccount } from '../lib/workload'
import { commentRequests, ENGINE_NAMES, seedBoard, startBoard, type BoardEngine } from '../lib/board'

/**
 * Figure 9 (9e on PGlite): comments created over HTTP by 16 clients, each a member with its own token,
 * each going round 100 posts from its own starting point, against the raw ceiling of the same run:
 * W on PostgreSQL (16 plain `pg` connections, BEGIN; INSERT; INSERT; COMMIT, as figure 1), W_lite on
 * PGlite (the same transaction from 16 callers on the board's own in-memory PGlite, in its process).
 * The two alternate A B A B. The board runs whole (both read sides project every comment); before each
 * round they catch up, so no round pays for an earlier one. A last, shorter round with the read sides
 * stopped (a detail, not a figure) shows the command side alone.
 *
 * On PostgreSQL W is also measured with pgbench (9b: the same transaction from 16 connections, rounds as
 * long as W's, right after each of them), whose client costs less CPU than node-postgres: the comments'
 * ratio is given against both. Without pgbench, 9b is skipped with the reason.
 */
const POSTS = 100

export interface CommentRate {
  /** Comments/s of the closed loop (16 clients). */
  perSecond: number
  /** The same comments over the time the loop ran plus the time the read sides then needed to catch up. */
  sustained: number
}

export async function boardComments(bench: Workbench, report: Report, engine: BoardEngine): Promise<CommentRate> {
  const name = ENGINE_NAMES[engine]
  const board = await startBoard(bench, engine)
  const data = await seedBoard(board, { members: CLIENTS, posts: POSTS, commentsPerPost: 0 })
  const requestsFor = (connection: number) => commentRequests(data.members[connection % data.members.length]!, data.postIds, connection * 7)
  const comments = (s: number) => httpLoad({ url: board.server.url, connections: CLIENTS, seconds: s, requestsFor })

  let raw: (ms: number) => Promise<Throughput>
  let rawCpu: PhaseCpu
  // W by pgbench (PostgreSQL only); undefined when there is none, or once it failed.
  let pgbench: ((ms: number) => Promise<Throughput>) | undefined
  let pgbenchSkipped: string | undefined
  if (engine === 'postgres') {
    const schema = await bench.serverSchema('board_raw')
    const found = await findPgbench()
    if ('path' in found) pgbench = (ms) => pgbenchRound(found.path, DATABASE_URL, schema, CLIENTS, ms)
    else pgbenchSkipped = found.missing
    const clients = await bench.clients(CLIENTS)
    const pids = await Promise.all(clients.map(async (c) => Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)))
    raw = (ms) => closedLoop(CLIENTS, ms, (c) => rawOpenAccount(clients[c]!, schema))
    rawCpu = new PhaseCpu(board.server.pid, async () => pids)
  } else {
    raw = (ms) => board.server.call<Throughput>('raw', { callers: CLIENTS, ms })
    rawCpu = new PhaseCpu(board.server.pid)
  }
  const boardCpu = new PhaseCpu(board.server.pid, board.backends)
  const commandCpu = new PhaseCpu(board.server.pid, board.backends)

  const round = seconds(engine === 'postgres' ? 4 : 3)
  const rawRuns: Throughput[] = []
  const pgbenchRuns: Throughput[] = []
  const boardRuns: HttpLoadResult[] = []
  const behind: string[] = []
  const catchUpMs: number[] = []
  const boardRound = async (s: number, keep: boolean) => {
    const result = await boardCpu.measure(() => comments(s))
    expectClean(`${name} comments`, result)
    // How far the read sides (post documents, notifications) are behind when the writers stop.
    const lag = await board.server.call<Record<string, Record<string, number>>>('behind')
    const caughtUp = await board.server.call<number>('caughtUp', {})
    if (keep) {
      boardRuns.push(result)
      behind.push(Object.entries(lag).map(([consumer, bySource]) => `${consumer.replace(/^.*\./, '')} ${bySource['board.comment'] ?? 0}`).join(', '))
      catchUpMs.push(caughtUp)
    }
  }

  await raw(seconds(1))
  await boardRound(1, false)
  for (let i = 0; i < 2; i++) {
    rawRuns.push(await rawCpu.measure(() => raw(round)))
    if (pgbench) {
      try {
        pgbenchRuns.push(await pgbench(round))
      } catch (error) {
        pgbenchSkipped = `pgbench failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`
        pgbench = undefined
      }
    }
    await boardRound(round / 1000, true)
  }
  // Not a figure: the command side alone, read sides stopped (their backlog is applied afterwards and
  // not counted), to split the gap to W between the command path and the read sides' work.
  await board.server.call('pause')
  const commandsOnly = await commandCpu.measure(() => comments(Math.max(1, seconds(2) / 1000)))
  expectClean(`${name} comments, read sides stopped`, commandsOnly)
  await board.server.call('resume')
  const backlogMs = await board.server.call<number>('caughtUp', {})
  await board.stop()

  const w = combine(rawRuns)
  const made = combineLoads(boardRuns)
  const suffix = engine === 'pglite' ? 'e' : ''
  const ceilingName = engine === 'pglite' ? 'W_lite' : 'W'
  const ratio = made.perSecond / w.perSecond
  report.add({
    id: `9${suffix}`,
    figure: `comments created over HTTP, ${CLIENTS} clients (own tokens) on ${POSTS} posts, whole board (${engine === 'pglite' ? 'PGlite in memory' : 'PostgreSQL'})`,
    value: formatRate(made.perSecond, 'comments/s'),
    ceiling: `${ceilingName} ${formatRate(w.perSecond, 'tx/s')}`,
    ratio,
    goal: '≥ 0.60',
    met: ratio >= 0.6,
  })
  if (engine === 'postgres') {
    reportPgbench(report, made.perSecond, w, pgbenchRuns, pgbenchSkipped)
    const cpuRatio = commandCpu.processPerOp() / rawCpu.databasePerOp()
    report.add({
      id: '9c',
      figure: `board-process CPU per comment, command side alone (read sides stopped) / PostgreSQL CPU per raw transaction (W's)`,
      value: `${commandCpu.processPerOp().toFixed(0)} µs`,
      ceiling: `${rawCpu.databasePerOp().toFixed(0)} µs`,
      ratio: cpuRatio,
      goal: '≤ 1.5',
      met: cpuRatio <= 1.5,
    })
  }
  const busy = made.ms + catchUpMs.reduce((a, b) => a + b, 0)
  const sustained = (made.ops * 1000) / busy
  report.detail(
    `comments ${name}: ${made.ops} comments in ${(made.ms / 1000).toFixed(0)} s, request p50 ${formatMs(made.latency.p50)} p99 ${formatMs(made.latency.p99)}; ` +
      `${ceilingName} ${w.ops} tx in ${(w.ms / 1000).toFixed(1)} s (measured here, alternating)`,
  )
  report.detail(
    `comments ${name}: comment events not yet applied when the writers stopped: ${behind.join(' / ')}; caught up in ${catchUpMs.map((ms) => (ms / 1000).toFixed(1)).join(' / ')} s; ` +
      `counting that time (sustained), ${formatRate(sustained, 'comments/s')} (${(sustained / w.perSecond).toFixed(2)} ${ceilingName})`,
  )
  report.detail(
    `comments ${name}, read sides stopped (command side alone): ${formatRate(commandsOnly.perSecond, 'comments/s')} (${(commandsOnly.perSecond / w.perSecond).toFixed(2)} ${ceilingName}), ` +
      `request p50 ${formatMs(commandsOnly.latency.p50)} p99 ${formatMs(commandsOnly.latency.p99)}; the read sides then applied its ${commandsOnly.ops} comments in ${(backlogMs / 1000).toFixed(1)} s`,
  )
  report.detail(
    `comments ${name} CPU: whole board ${boardCpu.perOp('comment')}; command side alone ${commandCpu.perOp('comment')}; ` +
      `raw ${rawCpu.perOp('transaction').replace('load generator', engine === 'postgres' ? 'pg clients' : 'this process').replace('server process', engine === 'postgres' ? 'board process (idle)' : 'board process (PGlite)')}`,
  )
  return { perSecond: made.perSecond, sustained }
}

/** 9b: the comments against W measured by pgbench in the same rounds, or why it was not. */
function reportPgbench(report: Report, comments: number, w: Throughput, runs: Throughput[], skipped: string | undefined): void {
  if (runs.length === 0) {
    report.detail(`comments PostgreSQL: W_pgbench skipped (${skipped ?? 'no rounds'})`)
    return
  }
  const wp = combine(runs)
  report.add({
    id: '9b',
    figure: `comments created over HTTP (9) against W measured by pgbench (${CLIENTS} clients, same transaction, same rounds)`,
    value: formatRate(comments, 'comments/s'),
    ceiling: `W_pgbench ${formatRate(wp.perSecond, 'tx/s')}`,
    ratio: comments / wp.perSecond,
  })
  report.detail(
    `comments PostgreSQL: W (node-postgres) ${formatRate(w.perSecond, 'tx/s')}, W_pgbench ${formatRate(wp.perSecond, 'tx/s')} (${wp.ops} tx in ${(wp.ms / 1000).toFixed(1)} s; ` +
      `${(wp.perSecond / w.perSecond).toFixed(2)} × W); comments / W ${(comments / w.perSecond).toFixed(2)}, / W_pgbench ${(comments / wp.perSecond).toFixed(2)}` +
      (skipped ? ` (${skipped} after ${runs.length} round(s))` : ''),
  )
}
