import { PgDatabase, SagaRunner, schemaName, UnitOfWork } from '@tidings/postgres'
import { seatPaymentWorld, startProcess, waitingSaga, type ManagedProcess } from '@tidings/testing'
import { CLIENTS, SCALE, seconds } from '../lib/env'
import { closedLoop } from '../lib/load'
import type { Report } from '../lib/report'
import { distribution, formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { rawOpenAccount } from '../lib/workload'

const partyScript = new URL('../../../packages/testing/src/fixtures/saga-party.ts', import.meta.url)
const SAGAS = Math.max(500, Math.round(5_000 * SCALE))
const LISTED_ROWS = Math.max(100_000, Math.round(1_000_000 * SCALE))
const LIST_QUERIES = 200
const schemas = { orchestrator: 'bench_orch', wallet: 'bench_wallet', seats: 'bench_seats' }

/**
 * Figure 17: two-step sagas (debit the wallet, confirm the seat; 15 % of confirmations refused and
 * refunded) completed per second, with the orchestrator, the wallet and the seats each a process of its
 * own on one PostgreSQL database (`saga-party.ts`, as the saga crash test runs them, without the kills),
 * from the orchestrator's first saga start (once its process is ready) until every saga has ended; against W (figure 1's raw transaction, 16
 * connections) measured just before. Figure 17b: the console's saga list (`SagaRunner.list`, one status,
 * latest first, 50 a page, pages at random depths) over a million saga rows, p95.
 */
export async function sagas(bench: Workbench, report: Report): Promise<void> {
  const rawSchema = await bench.serverSchema('sagas_raw')
  const clients = await bench.clients(CLIENTS)
  const w = await closedLoop(CLIENTS, seconds(5), (c) => rawOpenAccount(clients[c]!, rawSchema))

  const url = await bench.serverDatabase('sagas')
  const db = new PgDatabase({ connectionString: url, maxConnections: 4 })
  try {
    const world = await seatPaymentWorld(db, schemas, { roles: [] })
    for (let m = 0; m < 50; m++) await world.deposit(`m${m}`, 1_000_000)
    const env = { DATABASE_URL: url, DATA_DIR: '', ORCHESTRATOR_SCHEMA: schemas.orchestrator, WALLET_SCHEMA: schemas.wallet, SEATS_SCHEMA: schemas.seats }
    const parties: ManagedProcess[] = [
      startProcess('wallet', partyScript, { ...env, ROLES: 'wallet' }),
      startProcess('seats', partyScript, { ...env, ROLES: 'seats' }),
    ]
    await Promise.all(parties.map((p) => p.waitForLine((l) => l === 'ready', 60_000)))
    const launched = performance.now()
    const orchestrator = startProcess('orchestrator', partyScript, { ...env, ROLES: 'orchestrator', SAGAS: String(SAGAS), SEATS: String(Math.round(SAGAS * 0.85)) })
    parties.push(orchestrator)
    for (const p of parties) bench.adopt(async () => void (await p.kill('SIGKILL')))
    // It prints `ready` just before its first start: node, tsx and opening its database are not timed.
    await orchestrator.waitForLine((l) => l === 'ready', 60_000)
    const started = performance.now()
    await orchestrator.waitForLine((l) => l === `open 0 started ${SAGAS}`, 600_000)
    const ms = performance.now() - started
    await Promise.all(parties.map((p) => p.kill('SIGTERM')))
    const perSecond = (SAGAS / ms) * 1000
    report.add({
      id: '17',
      figure: `two-step sagas completed (${SAGAS}, 15 % compensated), orchestrator and participants in 3 processes / W`,
      value: formatRate(perSecond, 'sagas/s'),
      ceiling: formatRate(w.perSecond, 'tx/s'),
      ratio: perSecond / w.perSecond,
      goal: '≥ 0.25',
      met: perSecond / w.perSecond >= 0.25,
    })
    report.detail(
      `17: ${SAGAS} sagas in ${(ms / 1000).toFixed(1)} s from the orchestrator's first start to the last end (its process took ${((started - launched) / 1000).toFixed(1)} s to be ready, not counted); each saga is ≈ 5 transactions (start, debit, its reply, confirm, its reply)`,
    )

    const listed = await listOverMillion(db)
    report.add({ id: '17b', figure: `console saga list by status and age over ${LISTED_ROWS.toLocaleString('en-US')} sagas, p95`, value: formatMs(listed.p95), goal: '≤ 200 ms', met: listed.p95 <= 200 })
    report.detail(`17b: ${LIST_QUERIES} pages of 50 at random depths of one status, p50 ${formatMs(listed.p50)}, p99 ${formatMs(listed.p99)}`)
  } finally {
    await db.close()
  }
}

/** A million saga rows (copies of one started saga: five types, four statuses, a year of update times), then pages of the list. */
async function listOverMillion(db: PgDatabase) {
  const schema = 'bench_listed'
  const s = schemaName(schema)
  const { migrate, platformMigrations } = await import('@tidings/postgres')
  await migrate(db, schema, 'tidings', platformMigrations)
  const uow = new UnitOfWork({ db, schema, source: 'bench.waits' })
  const runner = new SagaRunner({ db, schema, uow, sagas: [waitingSaga] })
  await runner.migrate()
  await db.query(
    `INSERT INTO ${s}.sagas (id, type, status, state, step, attempt, history, started_at, updated_at, ended_at)
     SELECT 'saga-' || n, 'bench.type-' || (n % 5), (ARRAY['COMPLETED', 'COMPENSATED', 'COMPLETED', 'RUNNING', 'FAILED'])[1 + n % 5], '{}'::jsonb, 0, 1, 0,
            now() - (n || ' seconds')::interval * 30, now() - (n || ' seconds')::interval * 30, now() - (n || ' seconds')::interval * 30
     FROM generate_series(1, $1) n`,
    [LISTED_ROWS],
  )
  await db.query(`ANALYZE ${s}.sagas`)
  const times: number[] = []
  for (let i = 0; i < LIST_QUERIES; i++) {
    const status = (['COMPLETED', 'COMPENSATED', 'RUNNING', 'FAILED'] as const)[i % 4]
    const depth = Math.floor(Math.random() * LISTED_ROWS)
    const before = { at: new Date(Date.now() - depth * 30_000), id: `saga-${depth}` }
    const t = performance.now()
    await runner.list({ status, ...(i % 3 === 0 ? {} : { before }), ...(i % 2 === 0 ? { type: `bench.type-${i % 5}` } : {}), limit: 50 })
    times.push(performance.now() - t)
  }
  return distribution(times)
}
