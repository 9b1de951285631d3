import { OutboxFeed, sleep, Subscription, type Database } from '@tidings/postgres'
import { seconds } from '../lib/env'
import { until } from '../lib/load'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { accountView, ApplyTracker, SOURCE, writeBacklog } from '../lib/workload'

/**
 * Figure 5: a subscription (inline inbox, batches of 500, a version-guarded document upsert per event)
 * working through the 200k backlog figure 3 wrote, on its own 4-connection pool. Measured between two
 * page commits after a second of warm-up, so only whole pages count.
 */
export async function serverProjection(bench: Workbench, report: Report, backlogSchema: string, w: number): Promise<void> {
  const reader = bench.pool(4, 'tidings-bench-projection')
  const readerSchema = await bench.serverSchema('projection')
  const perSecond = await projectBacklog(reader, readerSchema, new OutboxFeed(reader, backlogSchema, SOURCE), seconds(8))
  await bench.release(reader)
  const ratio = perSecond / w
  report.add({
    id: '5',
    figure: 'idempotent projection, batches of 500, over a backlog (PostgreSQL)',
    value: formatRate(perSecond, 'events/s'),
    ceiling: 'W',
    ratio,
    goal: '≥ 1.00',
    met: ratio >= 1,
  })
}

/** The same on PGlite, over a 50k backlog, against W_lite. */
export async function embeddedProjection(bench: Workbench, report: Report, db: Database, wLite: number): Promise<void> {
  const backlogSchema = await bench.embeddedSchema(db, 'proj_feed')
  const readerSchema = await bench.embeddedSchema(db, 'proj_reader')
  await writeBacklog(db, backlogSchema, 50_000)
  const perSecond = await projectBacklog(db, readerSchema, new OutboxFeed(db, backlogSchema, SOURCE), seconds(5))
  report.add({
    id: '5e',
    figure: 'idempotent projection, batches of 500, on PGlite',
    value: formatRate(perSecond, 'events/s'),
    ceiling: 'W_lite',
    ratio: perSecond / wLite,
  })
}

async function projectBacklog(db: Database, schema: string, feed: OutboxFeed, durationMs: number): Promise<number> {
  const tracker = new ApplyTracker(false)
  const subscription = new Subscription({ db, schema, consumer: accountView(schema, tracker), feeds: [feed], batchSize: 500 })
  subscription.onProgress(tracker.progressed)
  subscription.start()
  // Once the backlog is used up no page follows: the last page committed is then the mark.
  const mark = () => Promise.race([tracker.nextPage(), sleep(2_000).then(() => ({ applied: tracker.applied, at: tracker.lastAt ?? 0 }))])
  try {
    await until('the first page', () => tracker.applied > 0)
    await sleep(seconds(1))
    const from = await mark()
    await sleep(durationMs)
    const to = await mark()
    if (to.applied === from.applied) throw new Error('the projection applied nothing between the marks: make the backlog larger')
    return ((to.applied - from.applied) * 1000) / (to.at - from.at)
  } finally {
    await subscription.stop()
  }
}
