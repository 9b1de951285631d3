import { writeFile } from 'node:fs/promises'
import { comparePositions, parseToken } from '@tidings/core'
import { sleep } from '@tidings/postgres'
import { wallNow } from '../lib/child'
import { CLIENTS, seconds } from '../lib/env'
import { expectClean, httpLoad, KeepAliveClient } from '../lib/http-load'
import { openLoop } from '../lib/load'
import type { Report } from '../lib/report'
import { distribution, formatMs, formatRate, type Distribution } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { BOARD_APPLICATION, commentRequests, ENGINE_NAMES, withSeededBoard, type BoardEngine, type SeededBoard } from '../lib/board'
import type { CommentRate } from './board-comments'

/**
 * Figure 10 (10e on PGlite): comment → visible in the post document, p50/p99, at a steady arrival rate of
 * half the comment rate the whole board sustains (figure 9 of this run, or a short closed-loop burst when
 * this bench runs alone): comments over the time the 16 clients ran plus the time the read sides then
 * needed to catch up. The same convention as figure 4 (0.5 of capacity), so it is a load this machine
 * sustains with headroom, whatever machine it is. Half the closed-loop rate alone would not do: during a
 * burst the read sides fall behind (figure 9's details), so that rate is not one the board sustains.
 *
 * Per comment: `responded` = when the POST's 201 arrived here; `visible` = when the board-query
 * subscription reported progress (onProgress, in the board process) past the comment's position. The
 * projection evicts the hot copy before it reports progress, so from that moment a GET without a token
 * shows the comment. Both times are on the wall clock the two processes share, corrected by the offset
 * measured over IPC. As a check, every 10th comment (at most 2 at a time) is also polled: GET
 * /api/board/posts/:id without a token, 10 ms apart, until the body contains the comment. Then a
 * shorter run at half that rate (a detail). On PostgreSQL it also samples the age of the oldest open
 * write transaction on the server, which holds every feed back (see HorizonSampler).
 */
const POLL_EVERY = 10
/**
 * At most this many comments are polled at once, so the check stays a small load (≤ 200 GETs/s) even
 * when the read side falls behind: unbounded, the polls of a lagging read side took the board's CPU from
 * the read side and made it lag more (a run collapsed to 10 s latencies with 2,000 GETs/s of polling).
 */
const MAX_POLLING = 2
const POLL_GAP_MS = 10

export function boardVisibility(bench: Workbench, report: Report, engine: BoardEngine, measured?: CommentRate, seeded?: SeededBoard): Promise<void> {
  return withSeededBoard(bench, engine, seeded, (s) => measureVisibility(bench, report, engine, measured, s))
}

async function measureVisibility(bench: Workbench, report: Report, engine: BoardEngine, measured: CommentRate | undefined, { board, data }: SeededBoard): Promise<void> {
  const name = ENGINE_NAMES[engine]

  let throughput = measured?.sustained
  let rateSource = 'sustained rate of figure 9 in this run'
  if (throughput === undefined) {
    const requestsFor = (connection: number) => commentRequests(data.members[connection % data.members.length]!, data.postIds, connection * 7)
    const burst = await httpLoad({ url: board.server.url, connections: CLIENTS, seconds: Math.max(2, seconds(3) / 1000), requestsFor })
    expectClean(`${name} comment throughput`, burst)
    const catchUp = await board.server.call<number>('caughtUp', {})
    throughput = (burst.ops * 1000) / (burst.ms + catchUp)
    rateSource = `measured here: ${CLIENTS} clients for ${(burst.ms / 1000).toFixed(0)} s, ${burst.ops} comments, read sides caught up ${(catchUp / 1000).toFixed(1)} s later`
  }
  const rate = throughput / 2

  const http = new KeepAliveClient(new URL(board.server.url))
  const { offsetMs, rttMs } = await board.server.clockOffset()
  const theirClock = () => wallNow() + offsetMs
  interface Written {
    position: string
    respondedAt: number
    dueAt: number
    seenAt?: number
  }
  let written: Written[] = []
  let polls = 0
  let unseen = 0
  let polling = 0
  // Asked as soon as the last comment of a run is answered (the run itself also waits for its polls).
  let lastOf: { total: number; behind?: Promise<Record<string, Record<string, number>>> } = { total: 0 }
  const comment = async (i: number, due: number): Promise<void> => {
    const dueAt = due - performance.now() + theirClock()
    const member = data.members[i % data.members.length]!
    const postId = data.postIds[(i * 7 + Math.floor(i / data.postIds.length)) % data.postIds.length]!
    const answer = await http.request('POST', `/api/posts/${postId}/comments`, {
      body: { content: `Comment ${i}, written at a steady rate.` },
      headers: { authorization: `Bearer ${member.token}` },
    })
    const respondedAt = theirClock()
    if (answer.status !== 201) throw new Error(`comment: ${answer.status} ${answer.body}`)
    const token = answer.headers['tidings-position']
    if (typeof token !== 'string') throw new Error('comment: no Tidings-Position header')
    const entry: Written = { position: parseToken(token).position, respondedAt, dueAt }
    written.push(entry)
    if (written.length === lastOf.total) lastOf.behind = board.server.call('behind')
    if (i % POLL_EVERY === 0 && polling < MAX_POLLING) {
      polling++
      try {
        const commentId = (JSON.parse(answer.body) as { commentId: string }).commentId
        // 10 ms apart; they stop after 10 s (the progress log still times the comment).
        const deadline = performance.now() + 10_000
        for (let first = true; ; first = false) {
          if (!first) await sleep(POLL_GAP_MS)
          const doc = await http.request('GET', `/api/board/posts/${postId}`)
          polls++
          if (doc.status === 200 && doc.body.includes(commentId)) {
            entry.seenAt = theirClock()
            break
          }
          if (performance.now() > deadline) {
            unseen++
            break
          }
        }
      } finally {
        polling--
      }
    }
  }

  const runAt = async (arrivals: number, ms: number) => {
    written = []
    polls = 0
    unseen = 0
    lastOf = { total: Math.max(1, Math.round((arrivals * ms) / 1000)) } // as openLoop counts
    const horizon = engine === 'postgres' ? new HorizonSampler(bench) : undefined
    const loop = await openLoop(arrivals, ms, comment)
    const held = await horizon?.stop()
    const behind = (await lastOf.behind) ?? {}
    const catchUp = await board.server.call<number>('caughtUp', {})
    return { arrivals, written, loop, held, behind: behind['board-query.post-document']?.['board.comment'], catchUp, polls, unseen }
  }

  await board.server.call('progress', { record: true })
  await runAt(rate, seconds(1)) // warm-up
  const main = await runAt(rate, seconds(8))
  // A second, shorter look at half that rate: the read path without a busy writer.
  const light = await runAt(rate / 2, seconds(4))
  const log = await board.server.call<Array<[number, string]>>('progress', { record: false })
  http.close()

  // BENCH_VISIBILITY_DUMP=file: the raw times, for a closer look.
  if (process.env.BENCH_VISIBILITY_DUMP) await writeFile(process.env.BENCH_VISIBILITY_DUMP, JSON.stringify({ main: main.written, light: light.written, log }))

  // The first progress report at or past each comment's position.
  const visibleAt = (position: string): number => {
    let lo = 0
    let hi = log.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (comparePositions(log[mid]![1], position) >= 0) hi = mid
      else lo = mid + 1
    }
    if (lo === log.length) throw new Error(`no progress report reached ${position}`)
    return log[lo]![0]
  }
  const summary = (r: Awaited<ReturnType<typeof runAt>>) => {
    let early = 0
    const latency = distribution(
      r.written.map((w) => {
        const delay = visibleAt(w.position) - w.respondedAt
        if (delay < 0) early++
        return Math.max(0, delay)
      }),
    )
    const command = distribution(r.written.map((w) => w.respondedAt - w.dueAt))
    const polled = r.written.filter((w) => w.seenAt !== undefined)
    const pollLatency = distribution(polled.map((w) => w.seenAt! - w.respondedAt))
    const lead = polled.map((w) => w.seenAt! - visibleAt(w.position))
    const pollMinusProgress = distribution(lead)
    const line =
      `${latency.count} comments at ${formatRate(r.arrivals, '/s')}: p50 ${formatMs(latency.p50)} p90 ${formatMs(latency.p90)} p99 ${formatMs(latency.p99)} max ${formatMs(latency.max)}` +
      (early > 0 ? ` (${early} visible before their response arrived, counted as 0)` : '') +
      `; command (due→response) p50 ${formatMs(command.p50)} p99 ${formatMs(command.p99)}, at most ${r.loop.maxOutstanding} in flight, scheduler at worst ${formatMs(r.loop.maxLateMs)} late; ` +
      `post documents ${r.behind ?? '?'} comments behind when the last comment was answered, all caught up ${(r.catchUp / 1000).toFixed(1)} s after the run (its polls included); ` +
      `polled check (every ${POLL_EVERY}th comment, at most ${MAX_POLLING} at a time, GETs ${POLL_GAP_MS} ms apart, ${r.polls} in all${r.unseen > 0 ? `, ${r.unseen} not seen within 10 s` : ''}): ` +
      `first GET showing it p50 ${formatMs(pollLatency.p50)} p99 ${formatMs(pollLatency.p99)}, poll − progress p50 ${formatMs(pollMinusProgress.p50)} min ${lead.length ? formatSigned(Math.min(...lead)) : '—'} max ${formatMs(pollMinusProgress.max)}` +
      (r.held
        ? `; oldest open write transaction on the server, the board's own p50 ${formatMs(r.held.board.p50)} p99 ${formatMs(r.held.board.p99)}, others' p99 ${formatMs(r.held.others.p99)} max ${formatMs(r.held.others.max)}`
        : '')
    return { latency, line }
  }
  const [atRate, atHalf] = [summary(main), summary(light)]

  const suffix = engine === 'pglite' ? 'e' : ''
  report.add({
    id: `10${suffix}`,
    figure: `comment → visible in GET /api/board/posts/:id (no token) p50/p99, open loop at 0.5 × sustained comment rate = ${formatRate(rate, '/s')} (${engine === 'pglite' ? 'PGlite in memory' : 'PostgreSQL'})`,
    value: `${formatMs(atRate.latency.p50)} / ${formatMs(atRate.latency.p99)}`,
  })
  report.detail(
    `visibility ${name}: sustained comment rate ${formatRate(throughput, 'comments/s')} (${rateSource}); clock offset ${offsetMs.toFixed(2)} ms ±${(rttMs / 2).toFixed(2)}`,
  )
  report.detail(`visibility ${name} at 0.5 × sustained: ${atRate.line}`)
  report.detail(`visibility ${name} at 0.25 × sustained: ${atHalf.line}`)
}

/**
 * A feed only shows events below the oldest transaction still open on the whole server (gap safety:
 * `feed_xid < pg_snapshot_xmin(pg_current_snapshot())`), so an open write transaction anywhere, the
 * read sides' own page transactions included, holds every feed back for as long as it stays open. This
 * samples, every 50 ms, how long the oldest such transaction has been open: the board's own, and others'.
 */
class HorizonSampler {
  private readonly board: number[] = []
  private readonly others: number[] = []
  private running = true
  private readonly done: Promise<void>

  constructor(bench: Workbench) {
    this.done = (async () => {
      while (this.running) {
        const result = await bench.admin.query<{ board: number | null; others: number | null }>(
          `SELECT max(extract(epoch FROM clock_timestamp() - xact_start) * 1000) FILTER (WHERE application_name = $1) AS board,
                  max(extract(epoch FROM clock_timestamp() - xact_start) * 1000) FILTER (WHERE application_name IS DISTINCT FROM $1) AS others
           FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()`,
          [BOARD_APPLICATION],
        )
        const row = result.rows[0]!
        this.board.push(Number(row.board ?? 0))
        this.others.push(Number(row.others ?? 0))
        await sleep(50)
      }
    })()
  }

  async stop(): Promise<{ board: Distribution; others: Distribution }> {
    this.running = false
    await this.done
    return { board: distribution(this.board), others: distribution(this.others) }
  }
}

function formatSigned(ms: number): string {
  return `${ms < 0 ? '−' : ''}${formatMs(Math.abs(ms))}`
}
