import { FeedNotifier, FeedSignals, UnitOfWork, type PgliteDatabase } from '@tidings/postgres'
import { CLIENTS, seconds } from '../lib/env'
import { backendsOf, CpuMeter } from '../lib/cpu'
import { alternate, closedLoop } from '../lib/load'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { openAccount, rawOpenAccount, rawOpenAccountEmbedded, SOURCE } from '../lib/workload'

/**
 * Figures 1 and 2: the raw ceiling W (16 plain `pg` connections, BEGIN; INSERT state; INSERT outbox row;
 * COMMIT) against the same command through the unit of work (16 callers on a 16-connection PgDatabase,
 * with the FeedNotifier a PostgreSQL service runs). The two alternate, A B A B, so both see the same
 * background load.
 */
export interface WriteRates {
  /** The raw ceiling. */
  w: number
  /** The unit of work's own throughput at 16 callers. */
  uow: number
}

export async function serverWriteThroughput(bench: Workbench, report: Report): Promise<WriteRates> {
  const rawSchema = await bench.serverSchema('raw')
  const uowSchema = await bench.serverSchema('uow')
  const clients = await bench.clients(CLIENTS)
  const clientPids = await Promise.all(clients.map(async (c) => Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)))
  const db = bench.pool(CLIENTS, 'tidings-bench-uow')
  const uow = new UnitOfWork({ db, schema: uowSchema, source: SOURCE, notifier: new FeedNotifier(db) })

  const raw = (ms: number) => closedLoop(CLIENTS, ms, (c) => rawOpenAccount(clients[c]!, rawSchema))
  const platform = (ms: number) => closedLoop(CLIENTS, ms, () => openAccount(uow, uowSchema).then(() => {}))
  await raw(seconds(1))
  await platform(seconds(1))
  const rawCpu = new CpuMeter()
  const platformCpu = new CpuMeter()
  const result = await alternate(2, {
    raw: () => rawCpu.measure(async () => clientPids, () => raw(seconds(4))),
    platform: () => platformCpu.measure(() => backendsOf(bench.admin, 'tidings-bench-uow'), () => platform(seconds(4))),
  })
  for (const client of clients) await client.end()
  await bench.release(db)

  const w = result.raw.perSecond
  report.add({ id: '1', figure: 'W: raw BEGIN/INSERT/INSERT/COMMIT, 16 `pg` connections (PostgreSQL)', value: formatRate(w, 'tx/s') })
  const ratio = result.platform.perSecond / w
  report.add({
    id: '2',
    figure: 'commands through UnitOfWork, 16 callers (PostgreSQL)',
    value: formatRate(result.platform.perSecond, 'tx/s'),
    ceiling: 'W',
    ratio,
    goal: '≥ 0.80',
    met: ratio >= 0.8,
  })
  report.detail(`server writes: raw ${result.raw.ops} tx in ${(result.raw.ms / 1000).toFixed(1)} s, unit of work ${result.platform.ops} tx in ${(result.platform.ms / 1000).toFixed(1)} s`)
  report.detail(
    `CPU per transaction: raw ${rawCpu.perOp()}; unit of work ${platformCpu.perOp()} (${(platformCpu.totalPerOp() / rawCpu.totalPerOp()).toFixed(2)}× raw)`,
  )
  return { w, uow: result.platform.perSecond }
}

/**
 * The embedded engine's own ceiling: PGlite is one session, so its "16 clients" queue for it; W_lite is
 * the same two-insert transaction on that session. The unit of work on PGlite is reported beside it.
 */
export async function embeddedWriteThroughput(bench: Workbench, report: Report, db: PgliteDatabase): Promise<WriteRates> {
  const rawSchema = await bench.embeddedSchema(db, 'raw')
  const uowSchema = await bench.embeddedSchema(db, 'uow')
  const uow = new UnitOfWork({ db, schema: uowSchema, source: SOURCE, signals: new FeedSignals() })
  const raw = (ms: number) => closedLoop(CLIENTS, ms, () => rawOpenAccountEmbedded(db, rawSchema))
  const platform = (ms: number) => closedLoop(CLIENTS, ms, () => openAccount(uow, uowSchema).then(() => {}))
  await raw(seconds(1))
  await platform(seconds(1))
  const result = await alternate(2, { raw: () => raw(seconds(3)), platform: () => platform(seconds(3)) })

  const w = result.raw.perSecond
  report.add({ id: '1e', figure: 'W_lite: the same transaction on embedded PGlite (one session)', value: formatRate(w, 'tx/s') })
  report.add({
    id: '2e',
    figure: 'commands through UnitOfWork on PGlite',
    value: formatRate(result.platform.perSecond, 'tx/s'),
    ceiling: 'W_lite',
    ratio: result.platform.perSecond / w,
  })
  return { w, uow: result.platform.perSecond }
}
