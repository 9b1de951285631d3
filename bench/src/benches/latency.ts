import type { FeedReader } from '@tidings/core'
import {
  FeedSignals,
  OutboxFeed,
  Subscription,
  UnitOfWork,
  type Database,
  type PgliteDatabase,
} from '@tidings/postgres'
import { seconds } from '../lib/env'
import { openLoop, until } from '../lib/load'
import type { Report } from '../lib/report'
import { distribution, formatMs, formatRate, type Distribution } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { serverPipeline } from '../lib/server-pipeline'
import type { WriteRates } from './write-throughput'
import { accountView, ApplyTracker, openAccount, SOURCE } from '../lib/workload'

interface Pipeline {
  uow: UnitOfWork
  writerSchema: string
  reader: Database
  readerSchema: string
  feed: FeedReader
}

/** Figure 4, embedded: one PGlite, the subscription in process, woken by FeedSignals. */
export async function embeddedLatency(bench: Workbench, report: Report, db: PgliteDatabase, rates: WriteRates): Promise<void> {
  const writerSchema = await bench.embeddedSchema(db, 'lat_writer')
  const readerSchema = await bench.embeddedSchema(db, 'lat_reader')
  const signals = new FeedSignals()
  const uow = new UnitOfWork({ db, schema: writerSchema, source: SOURCE, signals })
  const feed = new OutboxFeed(db, writerSchema, SOURCE, signals)
  const pipeline = { uow, writerSchema, reader: db, readerSchema, feed }
  const rate = rates.w / 2
  const result = await commitToReadModel(pipeline, rate, seconds(10))
  report.add({
    id: '4e',
    figure: `commit→read model p50/p99, embedded PGlite, open loop at 0.5 W_lite = ${formatRate(rate, '/s')}`,
    value: `${formatMs(result.latency.p50)} / ${formatMs(result.latency.p99)}`,
    goal: 'p99 ≤ 25 ms',
    met: result.latency.p99 <= 25,
  })
  describe(report, 'embedded at 0.5 W_lite', result)
  describe(report, 'embedded at half the unit of work\'s own throughput', await commitToReadModel(pipeline, rates.uow / 2, seconds(5)))
}

/**
 * Figure 4, PostgreSQL: the writer and the subscription on separate pools, as separate processes would
 * be; the only wake-up is NOTIFY (FeedNotifier after commit, forwardNotifications on the reader side),
 * with the default 1 s polling as the fallback.
 */
export async function serverLatency(bench: Workbench, report: Report, rates: WriteRates): Promise<void> {
  const { uow, writerSchema, writer, reader, readerSchema, feed, unlisten } = await serverPipeline(bench, 'lat')
  const pipeline = { uow, writerSchema, reader, readerSchema, feed }
  const rate = rates.w / 2
  const result = await commitToReadModel(pipeline, rate, seconds(10))
  const unsaturated = await commitToReadModel(pipeline, rates.uow / 2, seconds(5))
  await unlisten()
  await bench.release(writer)
  await bench.release(reader)
  report.add({
    id: '4',
    figure: `commit→read model p50/p99, PostgreSQL via NOTIFY, open loop at 0.5 W = ${formatRate(rate, '/s')}`,
    value: `${formatMs(result.latency.p50)} / ${formatMs(result.latency.p99)}`,
    goal: 'p99 ≤ 50 ms',
    met: result.latency.p99 <= 50,
  })
  describe(report, 'PostgreSQL at 0.5 W', result)
  describe(report, 'PostgreSQL at half the unit of work\'s own throughput', unsaturated)
}

interface LatencyResult {
  latency: Distribution
  command: Distribution
  arrivalRate: number
  maxOutstanding: number
  maxLateMs: number
  early: number
}

/**
 * Commands arrive at a fixed rate (open loop). The writer notes each event's commit time when the unit of
 * work returns; the tracker notes when the page holding it committed in the read model. Latency is the
 * difference, per event. One second of warm-up is discarded. Returns once the read model caught up.
 */
async function commitToReadModel(p: Pipeline, rate: number, durationMs: number): Promise<LatencyResult> {
  const tracker = new ApplyTracker(true)
  const subscription = new Subscription({ db: p.reader, schema: p.readerSchema, consumer: accountView(p.readerSchema, tracker), feeds: [p.feed], batchSize: 500 })
  subscription.onProgress(tracker.progressed)
  subscription.start()
  try {
    await until('subscription active', () => subscription.isActive())
    const committedAt = new Map<string, number>()
    const commandMs: number[] = []
    const command = async (_i: number, dueAt: number): Promise<void> => {
      const id = await openAccount(p.uow, p.writerSchema)
      const now = performance.now()
      committedAt.set(id, now)
      commandMs.push(now - dueAt)
    }
    const caughtUp = () => until('read model caught up', () => tracker.appliedAt.size >= committedAt.size && [...committedAt.keys()].every((id) => tracker.appliedAt.has(id)))

    await openLoop(rate, seconds(1), command)
    await caughtUp()
    committedAt.clear()
    commandMs.length = 0
    tracker.appliedAt.clear()

    const run = await openLoop(rate, durationMs, command)
    await caughtUp()
    let early = 0
    const samples = [...committedAt].map(([id, committed]) => {
      const delay = tracker.appliedAt.get(id)! - committed
      if (delay < 0) early++
      return Math.max(0, delay)
    })
    return {
      latency: distribution(samples),
      command: distribution(commandMs),
      arrivalRate: rate,
      maxOutstanding: run.maxOutstanding,
      maxLateMs: run.maxLateMs,
      early,
    }
  } finally {
    await subscription.stop()
  }
}

function describe(report: Report, label: string, r: LatencyResult): void {
  report.detail(
    `latency ${label}: ${r.latency.count} events, p50 ${formatMs(r.latency.p50)}, p90 ${formatMs(r.latency.p90)}, p99 ${formatMs(r.latency.p99)}, max ${formatMs(r.latency.max)}; ` +
      `arrivals ${formatRate(r.arrivalRate, '/s')}, command (due→commit) p50 ${formatMs(r.command.p50)} p99 ${formatMs(r.command.p99)}, ` +
      `at most ${r.maxOutstanding} commands in flight, scheduler at worst ${formatMs(r.maxLateMs)} late` +
      (r.early > 0 ? `, ${r.early} applied before the writer saw its commit (counted as 0)` : ''),
  )
}
