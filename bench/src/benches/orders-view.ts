import type { Envelope } from '@tidings/core'
import { migrate, schemaName, Subscription, type PgDatabase, type Queryable } from '@tidings/postgres'
import { MariaDbOrderStatusStore, orderStatusMigrations, orderStatusProjection, PgOrderStatusStore, type OrderStatusStore } from '@tidings/orders'
import { backendsOf, cpuMsOf } from '../lib/cpu'
import { CLIENTS, SCALE, seconds } from '../lib/env'
import { closedLoop, combine, type Throughput } from '../lib/load'
import { MARIADB_URL, mariadbPid, MemoryFeed, orderStreams, ORDERS_SOURCES, RawMariaDb, type OrderStreams, type OrdersSource } from '../lib/orders'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { rawOpenAccount } from '../lib/workload'

/**
 * Figure 11 (11m on MariaDB): the orders app's order-status view kept by three concurrent consumers, one
 * per source (order, payment, delivery), as `order-status-convergence.int.test.ts` runs them: three
 * `Subscription`s of `orderStatusProjection` (one source each, own lease, inline inbox on PostgreSQL,
 * pages of 500 applied through `handleBatch`), each following an in-memory feed of full-state events.
 * The view is in PostgreSQL (joining the consumer's page transaction) or in MariaDB (its own transaction
 * per chunk of 100; the inbox and checkpoints stay on PostgreSQL). Counted: view updates = events applied,
 * from the start of the three subscriptions until the last of them has applied its whole stream.
 *
 * Ceilings of the same run: W (figure 1's raw transaction, 16 `pg` connections) — the goal's W for both
 * stores — and W_MariaDB, the same raw transaction on 16 mysql2 connections, for the MariaDB store's
 * ratio against its own engine. Orders are split in two halves and the phases alternate:
 * W, view on PostgreSQL, W_MariaDB, view on MariaDB, and again with the second half.
 */
const ORDERS = Math.max(1_000, Math.round(20_000 * SCALE))
const BATCH = 500
const POOL = 6
const APPLICATION = 'tidings-bench-orders-view'

interface ViewRun {
  events: number
  ms: number
  /** When each consumer had applied its whole stream, ms after the start. */
  finished: Record<OrdersSource, number>
  pages: number
  /** handleBatch calls, and messages that went through `handle` one at a time (a page's fallback, or a chunk of one). */
  batches: number
  singles: number
  /** Time spent inside the store (handleBatch and handle), summed over the three consumers. */
  storeMs: number
  /** Subscription interruptions (an infrastructure error such as a deadlock: the page is retried after a backoff). */
  interruptions: number
  cpu: { client: number; postgres?: number; mariadb?: number }
}

export async function ordersView(bench: Workbench, report: Report): Promise<void> {
  const started = performance.now()
  const halves = [orderStreams(Math.floor(ORDERS / 2), 1), orderStreams(ORDERS - Math.floor(ORDERS / 2), 2)]
  const events = halves.reduce((n, h) => n + h.events, 0)
  console.log(`     (${ORDERS} orders → ${events} events: order ${ORDERS * 3}, payment ${ORDERS}, delivery ${ORDERS * 2}; generated in ${(performance.now() - started).toFixed(0)} ms)`)

  // W: figure 1's raw transaction on 16 plain pg connections.
  const rawSchema = await bench.serverSchema('orders_raw')
  const clients = await bench.clients(CLIENTS)
  const w = (ms: number) => closedLoop(CLIENTS, ms, (c) => rawOpenAccount(clients[c]!, rawSchema))

  // W_MariaDB, if a MariaDB answers.
  const prefix = `bench_${process.pid}_${Date.now().toString(36)}`
  let maria: { raw: RawMariaDb; store: MariaDbOrderStatusStore; table: string } | undefined
  try {
    const raw = await RawMariaDb.open(MARIADB_URL, CLIENTS, prefix)
    const table = `${prefix}_order_status`
    bench.adopt(() => raw.close())
    const store = await MariaDbOrderStatusStore.open(MARIADB_URL, { table })
    let closed = false
    bench.adopt(async () => {
      if (closed) return
      closed = true
      await store.drop(table).catch(() => {})
      await store.close()
    })
    maria = { raw, store, table }
  } catch (error) {
    console.warn(`     SKIPPED the MariaDB half: no server at ${MARIADB_URL} (${String(error)})`)
  }
  const wMaria = (ms: number) => closedLoop(CLIENTS, ms, (c) => maria!.raw.openAccount(c))

  // The view on PostgreSQL: its own schema; each run's consumers get a fresh schema (inbox, checkpoints, leases).
  const db = bench.pool(POOL, APPLICATION)
  const viewSchema = await bench.serverSchema('orders_view')
  await migrate(bench.admin, viewSchema, 'orders.status', orderStatusMigrations)
  const pgStore = new PgOrderStatusStore(db, viewSchema)

  await w(seconds(1))
  if (maria) await wMaria(seconds(1))
  const wRuns: Throughput[] = []
  const wMariaRuns: Throughput[] = []
  const pgRuns: ViewRun[] = []
  const mariaRuns: ViewRun[] = []
  for (const [round, half] of halves.entries()) {
    wRuns.push(await w(seconds(3)))
    pgRuns.push(await runView(bench, db, pgStore, half))
    await expectConverged(`PostgreSQL round ${round + 1}`, (sql) => bench.admin.query<Counts>(sql).then((r) => r.rows), `${schemaName(viewSchema)}.order_status`, halves.slice(0, round + 1))
    if (maria) {
      wMariaRuns.push(await wMaria(seconds(3)))
      mariaRuns.push(await runView(bench, db, maria.store, half))
      await expectConverged(`MariaDB round ${round + 1}`, (sql) => maria!.raw.query<Counts>(sql), maria.table, halves.slice(0, round + 1))
    }
  }
  for (const client of clients) await client.end()

  const W = combine(wRuns).perSecond
  const conditions = `${ORDERS.toLocaleString('en-US')} orders, 3 consumers, pages of ${BATCH}`
  const pg = summarize(pgRuns)
  report.add({
    id: '11',
    figure: `order-status view updates, three concurrent sources, batched (${conditions}) (PostgreSQL)`,
    value: formatRate(pg.perSecond, 'updates/s'),
    ceiling: `W ${formatRate(W, 'tx/s')}`,
    ratio: pg.perSecond / W,
    goal: '≥ 1.00',
    met: pg.perSecond / W >= 1,
  })
  detailRuns(report, 'PostgreSQL', pgRuns, pg)
  if (maria) {
    const WM = combine(wMariaRuns).perSecond
    const m = summarize(mariaRuns)
    report.add({
      id: '11m',
      figure: `the same, view in MariaDB (inbox and checkpoints on PostgreSQL) / W, the goal's W`,
      value: formatRate(m.perSecond, 'updates/s'),
      ceiling: `W ${formatRate(W, 'tx/s')}`,
      ratio: m.perSecond / W,
      goal: '≥ 1.00',
      met: m.perSecond / W >= 1,
    })
    report.add({
      id: '11mr',
      figure: `the same / W_MariaDB: figure 1's raw transaction on 16 mysql2 connections (not the goal's W)`,
      value: formatRate(m.perSecond, 'updates/s'),
      ceiling: `W_MariaDB ${formatRate(WM, 'tx/s')}`,
      ratio: m.perSecond / WM,
    })
    detailRuns(report, 'MariaDB', mariaRuns, m)
    report.detail(`orders view ceilings: W ${wRuns.map((r) => Math.round(r.perSecond)).join(' / ')} tx/s, W_MariaDB ${wMariaRuns.map((r) => Math.round(r.perSecond)).join(' / ')} tx/s (rounds of ${(seconds(3) / 1000).toFixed(1)} s)`)
    const settings = await maria.raw.query<Record<string, unknown>>(
      'SELECT VERSION() AS version, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync_binlog, @@log_bin AS log_bin, @@innodb_buffer_pool_size AS pool',
    )
    const s = settings[0]!
    report.detail(
      `orders view MariaDB: ${String(s.version)}, innodb_flush_log_at_trx_commit=${String(s.flush)}, log_bin=${String(s.log_bin)}, sync_binlog=${String(s.sync_binlog)}, buffer pool ${Math.round(Number(s.pool) / 2 ** 20)} MB`,
    )
    await maria.raw.close()
  } else {
    report.detail(`orders view ceilings: W ${wRuns.map((r) => Math.round(r.perSecond)).join(' / ')} tx/s (rounds of ${(seconds(3) / 1000).toFixed(1)} s)`)
  }
  await bench.release(db)
  console.log(`     (orders view took ${((performance.now() - started) / 1000).toFixed(0)} s)`)
}

/**
 * Three subscriptions, one per source, each with its own name (so its own lease, inbox and checkpoints)
 * in a fresh consumer schema, started together; resolves when each has applied its whole stream.
 */
async function runView(bench: Workbench, db: PgDatabase, store: OrderStatusStore, half: OrderStreams): Promise<ViewRun> {
  const schema = await bench.serverSchema('orders_consumers')
  const base = orderStatusProjection(store)
  let batches = 0
  let singles = 0
  let interruptions = 0
  let pages = 0
  let storeMs = 0
  const timed = async (work: Promise<void>) => {
    const t = performance.now()
    await work
    storeMs += performance.now() - t
  }
  const logger = { info: () => {}, error: () => {}, warn: (_: object, msg?: string) => void (msg?.includes('interrupted') && interruptions++) }
  const finished = {} as Record<OrdersSource, number>
  let start = 0
  const runs = ORDERS_SOURCES.map((source) => {
    const feed = new MemoryFeed(source, half.streams[source])
    const subscription = new Subscription({
      db,
      schema,
      consumer: {
        ...base,
        name: `${base.name}.${source}`,
        follows: [source],
        handle: (tx: Queryable, message: Envelope) => (singles++, timed(base.handle(tx, message))),
        handleBatch: (tx: Queryable, messages: Envelope[]) => (batches++, timed(base.handleBatch!(tx, messages))),
      },
      feeds: [feed],
      instanceId: 'bench',
      batchSize: BATCH,
      logger,
    })
    const done = new Promise<void>((resolve) => {
      subscription.onProgress(() => {
        pages++
        if (subscription.status().positions[source] === feed.lastPosition && finished[source] === undefined) {
          finished[source] = performance.now() - start
          resolve()
        }
      })
    })
    return { subscription, feed, done }
  })

  const mariaPid = store instanceof MariaDbOrderStatusStore ? mariadbPid() : undefined
  const backendsBefore = new Map((await backendsOf(bench.admin, APPLICATION)).map((pid) => [pid, cpuMsOf(pid) ?? 0] as const))
  const mariaBefore = mariaPid === undefined ? undefined : cpuMsOf(mariaPid)
  const clientBefore = process.cpuUsage()
  start = performance.now()
  for (const { subscription } of runs) subscription.start()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      Promise.all(runs.map((r) => r.done)),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the three consumers did not finish within 180 s')), 180_000))),
    ])
  } finally {
    clearTimeout(timer)
  }
  const ms = performance.now() - start
  const client = process.cpuUsage(clientBefore)
  const mariaAfter = mariaPid === undefined ? undefined : cpuMsOf(mariaPid)
  let postgres = 0
  for (const pid of await backendsOf(bench.admin, APPLICATION)) postgres += (cpuMsOf(pid) ?? 0) - (backendsBefore.get(pid) ?? 0)
  await Promise.all(runs.map(({ subscription }) => subscription.stop()))

  const dead = await bench.admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schemaName(schema)}.dead_letters`)
  if (Number(dead.rows[0]!.n) !== 0) throw new Error(`${dead.rows[0]!.n} dead letters in ${schema}`)
  const applied = runs.reduce((n, r) => n + r.feed.length, 0)
  return {
    events: applied,
    ms,
    finished,
    pages,
    batches,
    singles,
    storeMs,
    interruptions,
    cpu: {
      client: (client.user + client.system) / 1000,
      postgres,
      ...(mariaBefore !== undefined && mariaAfter !== undefined ? { mariadb: mariaAfter - mariaBefore } : {}),
    },
  }
}

interface Counts {
  total: number | string
  complete: number | string
}

/** Every order of the halves applied so far has one row with every source's last version (and no other rows exist). */
async function expectConverged(what: string, query: (sql: string) => Promise<Counts[]>, table: string, halves: readonly OrderStreams[]): Promise<void> {
  const expected = halves.reduce((n, h) => n + h.orderIds.length, 0)
  const [row] = await query(
    `SELECT count(*) AS total,
            sum(CASE WHEN order_version = 3 AND order_status = 'SHIPPED' AND payment_version = 1 AND payment_status = 'PAID'
                      AND delivery_version = 2 AND delivery_status = 'SHIPPED' AND customer_id IS NOT NULL THEN 1 ELSE 0 END) AS complete
     FROM ${table}`,
  )
  if (Number(row!.total) !== expected || Number(row!.complete) !== expected) {
    throw new Error(`${what}: the view has ${row!.total} rows, ${row!.complete} complete; expected ${expected}`)
  }
}

function summarize(runs: readonly ViewRun[]): { events: number; ms: number; perSecond: number } {
  const events = runs.reduce((n, r) => n + r.events, 0)
  const ms = runs.reduce((n, r) => n + r.ms, 0)
  return { events, ms, perSecond: (events * 1000) / ms }
}

function detailRuns(report: Report, engine: string, runs: readonly ViewRun[], total: { events: number; ms: number }): void {
  const per = (ms: number | undefined) => (ms === undefined ? '?' : ((ms * 1000) / total.events).toFixed(0))
  const sum = (pick: (r: ViewRun) => number | undefined) => runs.reduce<number | undefined>((n, r) => (n === undefined || pick(r) === undefined ? undefined : n + pick(r)!), 0)
  report.detail(
    `orders view ${engine}: ${total.events} updates in ${(total.ms / 1000).toFixed(1)} s over ${runs.length} runs (${runs.map((r) => Math.round((r.events * 1000) / r.ms)).join(' / ')} /s); ` +
      `each consumer done after ${runs.map((r) => ORDERS_SOURCES.map((s) => `${s.slice(7)} ${(r.finished[s] / 1000).toFixed(1)}`).join(', ') + ' s').join(' | ')}`,
  )
  const cpu = [`client ${per(sum((r) => r.cpu.client))}`, `PostgreSQL ${per(sum((r) => r.cpu.postgres))}`]
  if (runs.some((r) => r.cpu.mariadb !== undefined)) cpu.push(`MariaDB server ${per(sum((r) => r.cpu.mariadb))}`)
  report.detail(
    `orders view ${engine}: CPU per update ${cpu.join(' + ')} µs${cpu.length > 2 ? ' (MariaDB: the whole mariadbd)' : ''}; ${sum((r) => r.pages)} pages, ${sum((r) => r.batches)} handleBatch calls, ` +
      `${sum((r) => r.singles)} events through handle one at a time, ${sum((r) => r.interruptions)} subscription interruptions`,
  )
  const busy = runs.reduce((n, r) => n + ORDERS_SOURCES.reduce((m, s) => m + r.finished[s], 0), 0)
  const store = sum((r) => r.storeMs)!
  report.detail(
    `orders view ${engine}: the consumers' time until done ${(busy / 1000).toFixed(1)} s (summed over the three), of it in the store's apply ${(store / 1000).toFixed(1)} s (${((100 * store) / busy).toFixed(0)}%), ` +
      `the rest reading, inbox claims, lease check, checkpoint, commit and waiting for the CPU`,
  )
}
