import { START, type Position } from '@tidings/core'
import { OutboxFeed, schemaName } from '@tidings/postgres'
import { backendsOf, CpuMeter } from '../lib/cpu'
import { seconds } from '../lib/env'
import { alternate, type Throughput } from '../lib/load'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { SOURCE, writeBacklog } from '../lib/workload'

export const BACKLOG_EVENTS = 200_000
const PAGE = 5_000

/**
 * Figure 3: reading a pre-written feed of 200k events with OutboxFeed.read in pages of 5,000, against
 * the same SELECT (same rows, columns and gap-safe keyset) on a plain `pg` connection: the ratio is what
 * the feed adds (envelope mapping, reader reports). Both wrap around to the start at the end of the feed.
 * Returns the backlog's schema, which figure 5 projects.
 */
export async function feedRead(bench: Workbench, report: Report): Promise<string> {
  const schema = await bench.serverSchema('feed')
  const started = performance.now()
  await writeBacklog(bench.admin, schema, BACKLOG_EVENTS)
  report.detail(`backlog: ${BACKLOG_EVENTS.toLocaleString('en-US')} events written in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const db = bench.pool(1, 'tidings-bench-feed')
  const feed = new OutboxFeed(db, schema, SOURCE)
  const [client] = await bench.clients(1)
  const clientPid = Number((await client!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)
  const s = schemaName(schema)

  const platform = (ms: number) =>
    pageThrough(ms, async (after) => {
      const page = await feed.read(after, PAGE, { reader: 'bench' })
      return { rows: page.items.length, next: page.next }
    })
  const raw = (ms: number) =>
    pageThrough(ms, async (after) => {
      const [xid, seq] = after === START ? ['0', '0'] : after.split('-')
      const result = await client!.query<{ xid: string; seq: string }>(
        `SELECT id::text AS id, type, key, version::text AS version,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
                data, meta, feed_xid::text AS xid, seq::text AS seq
         FROM ${s}.outbox o
         WHERE (o.feed_xid, o.seq) > ($1::text::xid8, $2::bigint) AND o.feed_xid < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY o.feed_xid, o.seq LIMIT $3`,
        [xid, seq, PAGE],
      )
      const last = result.rows.at(-1)
      return { rows: result.rows.length, next: last ? `${last.xid}-${last.seq}` : after }
    })
  await platform(seconds(1))
  await raw(seconds(1))
  const platformCpu = new CpuMeter()
  const rawCpu = new CpuMeter()
  const result = await alternate(2, {
    platform: () => platformCpu.measure(() => backendsOf(bench.admin, 'tidings-bench-feed'), () => platform(seconds(3))),
    raw: () => rawCpu.measure(async () => [clientPid], () => raw(seconds(3))),
  })
  await client!.end()
  await bench.release(db)

  const perSecond = result.platform.perSecond
  report.add({
    id: '3',
    figure: `feed read, OutboxFeed.read pages of ${PAGE.toLocaleString('en-US')} (PostgreSQL)`,
    value: formatRate(perSecond, 'rows/s'),
    ceiling: `raw SELECT ${formatRate(result.raw.perSecond, 'rows/s')}`,
    ratio: perSecond / result.raw.perSecond,
    goal: '≥ 300,000 rows/s',
    met: perSecond >= 300_000,
  })
  report.detail(`CPU per row: OutboxFeed ${platformCpu.perOp(1)}; raw SELECT ${rawCpu.perOp(1)}`)
  return schema
}

/** Reads pages for `ms`, starting over at the end of the feed; ops counts rows. */
async function pageThrough(ms: number, read: (after: Position) => Promise<{ rows: number; next: Position }>): Promise<Throughput> {
  const start = performance.now()
  let rows = 0
  let after: Position = START
  while (performance.now() - start < ms) {
    const page = await read(after)
    rows += page.rows
    after = page.rows < PAGE ? START : page.next
  }
  const elapsed = performance.now() - start
  return { ops: rows, ms: elapsed, perSecond: (rows * 1000) / elapsed }
}
