import { START, type Envelope, type Position } from '@tidings/core'
import { OutboxFeed, type Database } from '@tidings/postgres'
import type { Workbench } from '../../lib/workbench'
import { writeBacklog } from '../../lib/workload'
import type { Engine } from './settings'

/** The outbox the relay rounds of one engine publish. */
export interface Backlog {
  schema: string
  /** Its events, as the feed reads them: what the raw ceilings publish. */
  envelopes: Envelope[]
  /** Client CPU per event of reading the outbox alone, in the relay's pages (µs). */
  readUs: number
}

/** Writes an outbox of `events` on one engine and reads it back, the second time timing the relay's read. */
export async function backlog(bench: Workbench, engine: Engine, db: Database, events: number): Promise<Backlog> {
  const schema = engine === 'postgres' ? await bench.serverSchema('relay') : await bench.embeddedSchema(db, 'relay')
  const written = performance.now()
  await writeBacklog(db, schema, events)
  // The relay's own envelopes, for the raw ceilings: read once through the same feed.
  const feed = new OutboxFeed(db, schema, 'bench.relay')
  const envelopes = await readAll(feed, events, 5_000)
  if (envelopes.length !== events) throw new Error(`outbox holds ${envelopes.length} events, expected ${events}`)
  const bytes = envelopes.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0)
  console.log(`     (outbox: ${events.toLocaleString('en-US')} events written and read back in ${((performance.now() - written) / 1000).toFixed(1)} s; ${(bytes / events).toFixed(0)} bytes of JSON each)`)
  // What the relay's read costs this process, warm: the outbox again in its pages of 500.
  const cpu = process.cpuUsage()
  await readAll(feed, events, 500)
  const used = process.cpuUsage(cpu)
  return { schema, envelopes, readUs: (used.user + used.system) / events }
}

/**
 * The outbox's `count` events. Waits while the feed holds them back: a transaction of another session on
 * the shared server keeps the feed's horizon behind it (see "Cost of the horizon"), up to a minute.
 */
async function readAll(feed: OutboxFeed, count: number, pageSize: number): Promise<Envelope[]> {
  const all: Envelope[] = []
  let after: Position = START
  const deadline = performance.now() + 60_000
  while (all.length < count && performance.now() < deadline) {
    const page = await feed.read(after, pageSize, { waitMs: 1_000 })
    for (const e of page.items) all.push(e)
    after = page.next
  }
  return all
}
