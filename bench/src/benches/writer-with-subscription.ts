import { OutboxFeed, Subscription } from '@tidings/postgres'
import { CLIENTS, seconds } from '../lib/env'
import { closedLoop, combine, until, type Throughput } from '../lib/load'
import type { Report } from '../lib/report'
import { formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { serverPipeline } from '../lib/server-pipeline'
import { accountView, ApplyTracker, openAccount, SOURCE } from '../lib/workload'

/**
 * Figure 6: 16 callers through the unit of work, alone and while a subscription (its own pool, woken by
 * NOTIFY) consumes what they write, alternating twice. Before each "with" round the subscription first
 * catches up with what the previous round wrote, so the round measures steady consumption alongside.
 */
export async function writerWithSubscription(bench: Workbench, report: Report): Promise<void> {
  const { writerSchema, readerSchema, writer, reader, uow, feed, unlisten } = await serverPipeline(bench, 'mixed')
  const head = new OutboxFeed(writer, writerSchema, SOURCE)
  const write = (ms: number) => closedLoop(CLIENTS, ms, () => openAccount(uow, writerSchema).then(() => {}))

  const alone: Throughput[] = []
  const together: Throughput[] = []
  let consumed = 0
  let written = 0
  let behindAtEnd = 0
  await write(seconds(1))
  for (let round = 0; round < 2; round++) {
    alone.push(await write(seconds(4)))
    const tracker = new ApplyTracker(false)
    const subscription = new Subscription({ db: reader, schema: readerSchema, consumer: accountView(readerSchema, tracker), feeds: [feed], batchSize: 500 })
    subscription.onProgress(tracker.progressed)
    subscription.start()
    try {
      const target = await head.head()
      await until('subscription caught up', () => subscription.hasProcessed(SOURCE, target))
      const before = tracker.applied
      const measured = await write(seconds(4))
      together.push(measured)
      consumed += tracker.applied - before
      written += measured.ops
      behindAtEnd += measured.ops - (tracker.applied - before)
    } finally {
      await subscription.stop()
    }
  }
  await unlisten()
  await bench.release(writer)
  await bench.release(reader)

  const a = combine(alone)
  const b = combine(together)
  const ratio = b.perSecond / a.perSecond
  report.add({
    id: '6',
    figure: 'writer (16 callers, UnitOfWork) with a subscription consuming (PostgreSQL)',
    value: formatRate(b.perSecond, 'tx/s'),
    ceiling: `writer alone ${formatRate(a.perSecond, 'tx/s')}`,
    ratio,
    goal: '≥ 0.80',
    met: ratio >= 0.8,
  })
  const applyRate = (consumed * 1000) / b.ms
  report.add({
    id: '6b',
    figure: 'the subscription\'s apply rate during those rounds (does it keep up?)',
    value: formatRate(applyRate, 'events/s'),
    ceiling: 'writer rate',
    ratio: applyRate / b.perSecond,
  })
  report.detail(`with subscription: ${written} events written, ${consumed} applied during the rounds, ${Math.max(0, behindAtEnd)} behind when the rounds ended`)
}
