/**
 * Which transactions hold the feeds' horizon back, and for how long. A transaction that has an id (it has
 * written or row-locked something) keeps `pg_snapshot_xmin` at or below its id until it ends, and no feed
 * reader passes events committed after it began. This samples `pg_stat_activity` as fast as it can for
 * SECONDS (default 40) and prints how long each transaction held an id (first to last sample seen with
 * one) and, for the longest, the statements seen meanwhile. Start it beside a bench, e.g.
 * `npm run bench -- board-visibility & npm run experiment:horizon-holders -w bench`.
 */
import pg from 'pg'
import { DATABASE_URL } from '../lib/env'

const seconds = Number(process.argv[2] ?? 40)
const client = new pg.Client({ connectionString: DATABASE_URL })
await client.connect()
const held = new Map<string, { first: number; last: number; statements: Array<[number, string]> }>()
const end = Date.now() + seconds * 1000
while (Date.now() < end) {
  const { rows } = await client.query<{ pid: number; xid: string; state: string; query: string }>(
    `SELECT pid, backend_xid::text AS xid, state, left(query, 120) AS query FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()`,
  )
  const now = performance.now()
  for (const row of rows) {
    const key = `${row.pid}:${row.xid}`
    const span = held.get(key) ?? { first: now, last: now, statements: [] }
    span.last = now
    const statement = `${row.state} ${row.query.replace(/\s+/g, ' ')}`
    if (span.statements.at(-1)?.[1] !== statement) span.statements.push([now, statement])
    held.set(key, span)
  }
}
await client.end()
const spans = [...held.values()].map((span) => ({ ...span, ms: span.last - span.first })).sort((a, b) => a.ms - b.ms)
if (spans.length === 0) {
  console.log('no transaction held an id while sampling')
  process.exit(0)
}
const at = (p: number) => Math.round(spans[Math.floor((spans.length - 1) * p)]!.ms)
console.log(`transactions seen holding an id: ${spans.length}; held it p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`)
for (const span of spans.slice(-10).reverse()) {
  console.log(`${Math.round(span.ms)} ms`)
  for (const [t, statement] of span.statements) console.log(`  +${Math.round(t - span.first)} ms ${statement.slice(0, 150)}`)
}
