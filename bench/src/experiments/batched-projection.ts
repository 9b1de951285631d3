/**
 * Experiment behind the proposal of a batch handler (see the bench README): applying one page of 500
 * events in one transaction (inbox claim, read-model writes, checkpoint), with one upsert statement per
 * event as the platform's per-message handler does today, against one statement for the whole page.
 * Both alone and while 16 writers run through the unit of work on the same server.
 * Run: `npm run experiment:batched-projection -w bench`.
 */
import { claimMessages, DocumentStore, FeedNotifier, OutboxFeed, saveCheckpoint, schemaName, UnitOfWork, type Database } from '@tidings/postgres'
import { START, type Envelope, type Position } from '@tidings/core'
import { CLIENTS, seconds } from '../lib/env'
import { closedLoop, type Throughput } from '../lib/load'
import { Workbench } from '../lib/workbench'
import { openAccount, SOURCE, writeBacklog, type AccountData } from '../lib/workload'

const PAGE = 500

type Apply = (db: Database, schema: string, consumer: string, page: Envelope[]) => Promise<void>

/** Today: the handler runs once per fresh message, one round trip each. */
const perMessage: Apply = async (db, schema, consumer, page) => {
  const documents = new DocumentStore<AccountData>(schema, 'account_view')
  await db.transaction(async (tx) => {
    const fresh = await claimMessages(tx, schema, consumer, page, 'done')
    for (const m of page) {
      if (!fresh.has(m.id)) continue
      const data = m.data as AccountData
      await documents.merge(tx, m.key, { source: 'account', version: m.version ?? 0, set: { owner: data.owner, balance: data.balance } })
    }
    const last = page.at(-1)!
    await saveCheckpoint(tx, schema, consumer, SOURCE, last.position!, last.occurredAt)
  })
}

/**
 * Proposed: a handler that takes the page. Changes are collapsed per document to the newest version
 * first (one statement cannot touch a row twice); under the merge's field ownership that equals applying
 * them one by one.
 */
const batched: Apply = async (db, schema, consumer, page) => {
  const table = `${schemaName(schema)}.documents`
  await db.transaction(async (tx) => {
    const fresh = await claimMessages(tx, schema, consumer, page, 'done')
    const newest = new Map<string, Envelope>()
    for (const m of page) if (fresh.has(m.id) && (newest.get(m.key)?.version ?? -1) < (m.version ?? 0)) newest.set(m.key, m)
    const changes = [...newest.values()]
    await tx.query(
      `INSERT INTO ${table} AS d (collection, id, body, versions, updated_at)
       SELECT 'account_view', c.id, c.body::jsonb, jsonb_build_object('account', c.version), now()
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(id, body, version)
       ON CONFLICT (collection, id) DO UPDATE
         SET body = CASE WHEN d.deleted THEN d.body ELSE d.body || excluded.body END,
             versions = d.versions || excluded.versions, updated_at = excluded.updated_at
         WHERE COALESCE((d.versions ->> 'account')::bigint, -1) < (excluded.versions ->> 'account')::bigint`,
      [
        changes.map((m) => m.key),
        changes.map((m) => JSON.stringify({ owner: (m.data as AccountData).owner, balance: (m.data as AccountData).balance })),
        changes.map((m) => m.version ?? 0),
      ],
    )
    const last = page.at(-1)!
    await saveCheckpoint(tx, schema, consumer, SOURCE, last.position!, last.occurredAt)
  })
}

const bench = new Workbench()
try {
  const feedSchema = await bench.serverSchema('exp_feed')
  await writeBacklog(bench.admin, feedSchema, 300_000)
  const reader = bench.pool(2, 'tidings-bench-exp-reader')
  const feed = new OutboxFeed(reader, feedSchema, SOURCE)
  const writerSchema = await bench.serverSchema('exp_writer')
  const writer = bench.pool(CLIENTS, 'tidings-bench-exp-writer')
  const uow = new UnitOfWork({ db: writer, schema: writerSchema, source: SOURCE, notifier: new FeedNotifier(writer) })

  /** Applies pages from the backlog for `ms`, each consumer in its own schema; events per second. */
  const project = async (apply: Apply, schema: string, from: { after: Position }, ms: number): Promise<Throughput> => {
    const start = performance.now()
    let ops = 0
    while (performance.now() - start < ms) {
      const page = await feed.read(from.after, PAGE)
      if (page.items.length === 0) throw new Error('backlog exhausted: make it larger')
      await apply(reader, schema, 'account-view', page.items)
      from.after = page.next
      ops += page.items.length
    }
    const elapsed = performance.now() - start
    return { ops, ms: elapsed, perSecond: (ops * 1000) / elapsed }
  }
  const consumers = {
    'one statement per event (today)': { apply: perMessage, schema: await bench.serverSchema('exp_per_msg'), from: { after: START as Position } },
    'one statement per page (proposed)': { apply: batched, schema: await bench.serverSchema('exp_batched'), from: { after: START as Position } },
  }
  for (const withWriters of [false, true]) {
    let writing: Promise<Throughput> | undefined
    if (withWriters) {
      // Long enough to cover both rounds of both consumers.
      writing = closedLoop(CLIENTS, seconds(2 * 2 * 3 + 1), () => openAccount(uow, writerSchema).then(() => {}))
      await new Promise((r) => setTimeout(r, 500))
    }
    const totals = new Map<string, Throughput[]>()
    for (let round = 0; round < 2; round++) {
      for (const [name, c] of Object.entries(consumers)) {
        const t = await project(c.apply, c.schema, c.from, seconds(3))
        totals.set(name, [...(totals.get(name) ?? []), t])
      }
    }
    const written = writing ? await writing : undefined
    console.log(`\npages of ${PAGE}, ${withWriters ? `while 16 writers commit ${Math.round(written!.perSecond)} tx/s` : 'alone'}:`)
    for (const [name, parts] of totals) {
      const ops = parts.reduce((n, p) => n + p.ops, 0)
      const ms = parts.reduce((n, p) => n + p.ms, 0)
      console.log(`  ${name.padEnd(36)} ${Math.round((ops * 1000) / ms).toString().padStart(7)} events/s`)
    }
  }
} finally {
  await bench.close()
}
