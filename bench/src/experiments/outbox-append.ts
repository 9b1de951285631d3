/**
 * Experiment behind the proposal for `appendToOutbox` (see the bench README): CPU per command and rate for
 * the raw ceiling, the unit of work as it is, and the outbox insert written three other ways, on
 * PostgreSQL and on PGlite. Run: `npm run experiment:outbox-append -w bench`.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { formatPosition, uuidv7 } from '@tidings/core'
import { schemaName, UnitOfWork, type Database } from '@tidings/postgres'
import { backendsOf, CpuMeter } from '../lib/cpu'
import { CLIENTS, DATABASE_URL, seconds } from '../lib/env'
import { closedLoop, type Throughput } from '../lib/load'
import { Workbench } from '../lib/workbench'
import { ACCOUNT_OPENED, openAccount, rawOpenAccount, rawOpenAccountEmbedded, SOURCE } from '../lib/workload'

/** What appendToOutbox sends today for any number of envelopes (copied from packages/postgres/src/feed/outbox.ts). */
const unnestSql = (s: string): string => `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
  SELECT CASE WHEN e.version IS NULL THEN pg_current_xact_id() ELSE greatest(pg_current_xact_id(),
           (SELECT o.feed_xid FROM ${s}.outbox o WHERE o.key = e.key AND o.version IS NOT NULL
            ORDER BY o.version DESC LIMIT 1)) END,
         e.id::uuid, e.type, e.key, e.version, e.occurred_at::timestamptz, e.data::jsonb, e.meta::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
       WITH ORDINALITY AS e(id, type, key, version, occurred_at, data, meta, ord)
  ORDER BY e.ord
  RETURNING id::text AS id, feed_xid::text AS xid, seq::text AS seq`

/** The proposal for the common one-event command: the same semantics, one VALUES row. */
const singleSql = (s: string): string => `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
  VALUES (CASE WHEN $4::bigint IS NULL THEN pg_current_xact_id() ELSE greatest(pg_current_xact_id(),
           (SELECT o.feed_xid FROM ${s}.outbox o WHERE o.key = $3 AND o.version IS NOT NULL
            ORDER BY o.version DESC LIMIT 1)) END,
         $1::uuid, $2, $3, $4::bigint, $5::timestamptz, $6::jsonb, $7::jsonb)
  RETURNING id::text AS id, feed_xid::text AS xid, seq::text AS seq`

/** A version-1 event opens its aggregate: no earlier event of the key can exist, so the lookup can go. */
const firstVersionSql = (s: string): string => `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
  VALUES (pg_current_xact_id(), $1::uuid, $2, $3, $4::bigint, $5::timestamptz, $6::jsonb, $7::jsonb)
  RETURNING id::text AS id, feed_xid::text AS xid, seq::text AS seq`

type Variant = 'unnest' | 'single' | 'first'
const sqlOf: Record<Variant, (s: string) => string> = { unnest: unnestSql, single: singleSql, first: firstVersionSql }

interface Runner {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: { xid: string; seq: string }[] }>
}

/** One command: state row plus one event, the outbox insert written as `variant`, optionally as named statements. */
async function command(run: Runner, s: string, variant: Variant, named: boolean): Promise<string> {
  const key = randomUUID()
  const data = { owner: `owner-${key.slice(0, 8)}`, balance: 100 }
  await run.query({ name: named ? 'bench_account' : undefined, text: `INSERT INTO ${s}.accounts (id, owner, balance) VALUES ($1, $2, $3)`, values: [key, data.owner, 100] })
  const row = [uuidv7(), ACCOUNT_OPENED, key, 1, new Date().toISOString(), JSON.stringify(data), '{}']
  const values = variant === 'unnest' ? row.map((v) => [v]) : row
  const result = await run.query({ name: named ? `bench_outbox_${variant}` : undefined, text: sqlOf[variant](s), values })
  const first = result.rows[0]!
  return formatPosition({ xid: BigInt(first.xid), seq: BigInt(first.seq) })
}

async function server(bench: Workbench): Promise<void> {
  const schema = await bench.serverSchema('exp_append')
  const s = schemaName(schema)
  const clients = await bench.clients(CLIENTS)
  const clientPids = await Promise.all(clients.map(async (c) => Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)))
  const uowDb = bench.pool(CLIENTS, 'tidings-bench-exp-uow')
  const uow = new UnitOfWork({ db: uowDb, schema, source: SOURCE })
  const onClient = (variant: Variant, named: boolean) => async (c: number) => {
    const client = clients[c]!
    await client.query('BEGIN')
    await command(client as unknown as Runner, s, variant, named)
    await client.query('COMMIT')
  }
  const phases: Record<string, [() => Promise<number[]>, (ms: number) => Promise<Throughput>]> = {
    'raw ceiling (W)': [async () => clientPids, (ms) => closedLoop(CLIENTS, ms, (c) => rawOpenAccount(clients[c]!, schema))],
    'UnitOfWork today': [() => backendsOf(bench.admin, 'tidings-bench-exp-uow'), (ms) => closedLoop(CLIENTS, ms, () => openAccount(uow, schema).then(() => {}))],
    'unnest SQL, unnamed (today)': [async () => clientPids, (ms) => closedLoop(CLIENTS, ms, onClient('unnest', false))],
    'unnest SQL, prepared': [async () => clientPids, (ms) => closedLoop(CLIENTS, ms, onClient('unnest', true))],
    'single-row SQL, unnamed': [async () => clientPids, (ms) => closedLoop(CLIENTS, ms, onClient('single', false))],
    'single-row SQL, prepared': [async () => clientPids, (ms) => closedLoop(CLIENTS, ms, onClient('single', true))],
  }
  await measure('PostgreSQL, 16 clients', phases)
  await pool(bench, schema)
}

/** The whole proposed path on a `pg` pool: checkout, named statements, single-row insert, envelope positions. */
async function pool(bench: Workbench, schema: string): Promise<void> {
  const s = schemaName(schema)
  const p = new pg.Pool({ connectionString: DATABASE_URL, max: CLIENTS, application_name: 'tidings-bench-exp-pool' })
  try {
    const uowDb = bench.pool(CLIENTS, 'tidings-bench-exp-uow2')
    const uow = new UnitOfWork({ db: uowDb, schema, source: SOURCE })
    const proposed = async (): Promise<void> => {
      const client = await p.connect()
      try {
        await client.query('BEGIN')
        await command(client as unknown as Runner, s, 'single', true)
        await client.query('COMMIT')
      } finally {
        client.release()
      }
    }
    await measure('PostgreSQL, unit of work today vs the proposed path on a pool', {
      'UnitOfWork today': [() => backendsOf(bench.admin, 'tidings-bench-exp-uow2'), (ms) => closedLoop(CLIENTS, ms, () => openAccount(uow, schema).then(() => {}))],
      'pool + single-row prepared': [() => backendsOf(bench.admin, 'tidings-bench-exp-pool'), (ms) => closedLoop(CLIENTS, ms, proposed)],
    })
  } finally {
    await p.end()
  }
}

async function embedded(bench: Workbench): Promise<void> {
  const db: Database = await bench.pglite()
  const schema = await bench.embeddedSchema(db, 'exp_append')
  const s = schemaName(schema)
  const uow = new UnitOfWork({ db, schema, source: SOURCE })
  const inTx = (variant: Variant) => () =>
    db.transaction((tx) => command({ query: (c) => tx.query<{ xid: string; seq: string }>(c.text, c.values) }, s, variant, false)).then(() => {})
  const none = async (): Promise<number[]> => []
  await measure('PGlite (one session; CPU is all client)', {
    'raw ceiling (W_lite)': [none, (ms) => closedLoop(CLIENTS, ms, () => rawOpenAccountEmbedded(db, schema))],
    'UnitOfWork today': [none, (ms) => closedLoop(CLIENTS, ms, () => openAccount(uow, schema).then(() => {}))],
    'unnest SQL (today)': [none, (ms) => closedLoop(CLIENTS, ms, inTx('unnest'))],
    'single-row SQL': [none, (ms) => closedLoop(CLIENTS, ms, inTx('single'))],
    'single-row, no lookup for version 1': [none, (ms) => closedLoop(CLIENTS, ms, inTx('first'))],
  })
}

/** Alternates the phases (warm-up, then 3 rounds) and prints rate and CPU per command for each. */
async function measure(title: string, phases: Record<string, [() => Promise<number[]>, (ms: number) => Promise<Throughput>]>): Promise<void> {
  const meters = new Map<string, { cpu: CpuMeter; ops: number; ms: number }>()
  for (const [, run] of Object.values(phases)) await run(seconds(0.5))
  for (let round = 0; round < 3; round++) {
    for (const [name, [backends, run]] of Object.entries(phases)) {
      const m = meters.get(name) ?? { cpu: new CpuMeter(), ops: 0, ms: 0 }
      meters.set(name, m)
      const t = await m.cpu.measure(backends, () => run(seconds(2)))
      m.ops += t.ops
      m.ms += t.ms
    }
  }
  console.log(`\n${title}`)
  for (const [name, m] of meters) {
    console.log(`  ${name.padEnd(36)} ${Math.round((m.ops * 1000) / m.ms).toString().padStart(6)} tx/s   CPU per command: ${m.cpu.perOp()}`)
  }
}

const bench = new Workbench()
try {
  await server(bench)
  await embedded(bench)
} finally {
  await bench.close()
}
