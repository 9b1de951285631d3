import { comparePositions, formatPosition, positionBefore, type Position } from '@tidings/core'
import { OutboxFeed, PartitionedSubscription, Relay, schemaName, Subscription, type Database, type Follower } from '@tidings/postgres'
import { startBroker, type BenchBroker, type BrokerKind } from '../lib/brokers'
import { backendsOf, CpuMeter } from '../lib/cpu'
import { loadAverage, SCALE } from '../lib/env'
import { FeedTap } from '../lib/feed-tap'
import { combine, until, type Throughput } from '../lib/load'
import type { Report } from '../lib/report'
import { formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { ApplyTracker, committedAccountView, SOURCE, writeBacklog } from '../lib/workload'

/**
 * Figure 16 (issue #4): consumer throughput with 1, 2 and 4 partitions, as many competing
 * `PartitionedSubscription` instances as partitions, against a single plain `Subscription` reading the
 * outbox directly (figure 16, the ceiling: before and after the broker rounds, summed).
 *
 * - One outbox of N events (`writeBacklog`: N/2 accounts, each opened and then changed).
 * - Per broker and partition count: a relay publishes the whole outbox to a fresh source on a transport
 *   with that many partitions; then the instances start (each its own transport connections, its own
 *   4-connection pool, the same consumer schema) with their reads held until every instance leads its
 *   share of the partitions; from the release until every event is applied (the consumer's `afterCommit`)
 *   is the time. Instances run in this process (one event loop): its CPU share is printed.
 * - The account view, batchSize 500, in a fresh consumer schema every round.
 */
const EVENTS = Math.max(4_000, Math.round(20_000 * SCALE))
const PARTITION_COUNTS = [1, 2, 4]
const BROKERS: BrokerKind[] = ['nats', 'redis', 'rabbitmq']
const APPLICATION = 'tidings-bench-partitions'

interface Drained extends Throughput {
  perInstance: number[]
  /** This process's CPU over the wall time (1.0 = one core). */
  processCpu: number
  cpu: CpuMeter
  load: string
  /** How long after the instances started each led its share (the first takes all, then hands back). */
  spreadMs?: number
  /** Partition-milliseconds led by no instance while they spread (a hand-back until the joiner takes it). */
  unownedMs?: number
}

export async function partitionThroughput(bench: Workbench, report: Report): Promise<void> {
  const db = bench.pool(4, 'tidings-bench-outbox')
  const outbox = await bench.serverSchema('parts_outbox')
  await writeBacklog(db, outbox, EVENTS, Math.ceil(EVENTS / 2))
  const last = await lastPosition(db, outbox)
  // A transaction anywhere on the shared server holds the feed's horizon back: no round waits for it.
  const feed = new OutboxFeed(db, outbox, SOURCE)
  await until('the backlog readable', async () => (await feed.read(positionBefore(last), 1)).items.length > 0, 120_000)
  const ceiling = [await direct(bench, outbox)]
  const rounds: Array<{ broker: BenchBroker; partitions: number; drained: Drained }> = []
  for (const kind of BROKERS) {
    const broker = await startBroker(bench, kind)
    if (!broker) continue
    report.detail(`partitions: ${broker.about}`)
    try {
      for (const partitions of PARTITION_COUNTS) rounds.push({ broker, partitions, drained: await partitioned(bench, broker, db, outbox, last, partitions) })
    } finally {
      await broker.stop()
    }
  }
  ceiling.push(await direct(bench, outbox))
  await bench.release(db)

  const raw = combine(ceiling)
  report.add({ id: '16', figure: `one Subscription reading the outbox directly, ${EVENTS.toLocaleString('en-US')} events (the ceiling)`, value: formatRate(raw.perSecond, 'events/s') })
  report.detail(`partitions ceiling: ${ceiling.map(describe).join('; ')}`)
  for (const { broker, partitions, drained } of rounds) {
    const each = drained.perSecond / partitions
    report.add({
      id: `16${broker.id}${partitions}`,
      figure: `${broker.name}: ${partitions} partition${partitions > 1 ? 's' : ''}, ${partitions} PartitionedSubscription instance${partitions > 1 ? 's' : ''}, total (per instance)`,
      value: `${formatRate(drained.perSecond, 'events/s')} (${formatRate(each, '')}each)`,
      ceiling: `one Subscription ${formatRate(raw.perSecond, 'events/s')}`,
      ratio: drained.perSecond / raw.perSecond,
    })
    const instances = drained.perInstance.map((n) => formatRate((n * 1000) / drained.ms, '/s')).join(', ')
    const spread = drained.spreadMs === undefined ? '' : `; spread over the instances ${formatMs(drained.spreadMs)} after they started, partitions unowned meanwhile ${formatMs(drained.unownedMs ?? 0)} in all`
    report.detail(`partitions ${broker.name} ×${partitions}: ${describe(drained)}; instances ${instances}${spread}`)
  }
}

/** The ceiling: a plain Subscription (4-connection pool) from the start of the outbox until every event is applied. */
async function direct(bench: Workbench, outbox: string): Promise<Drained> {
  const schema = await bench.serverSchema('parts_direct')
  const db = bench.pool(4, APPLICATION)
  const tracker = new ApplyTracker(false)
  const subscription = new Subscription({ db, schema, consumer: committedAccountView(schema, tracker), feeds: [new OutboxFeed(db, outbox, SOURCE)], batchSize: 500 })
  try {
    return await drain(bench, [tracker], () => subscription.start())
  } finally {
    await subscription.stop()
    await bench.release(db)
  }
}

/** Relays the outbox to a fresh source with `partitions`, then drains it with as many instances. */
async function partitioned(bench: Workbench, broker: BenchBroker, outboxDb: Database, outbox: string, last: Position, partitions: number): Promise<Drained> {
  // A source of its own per round: the relay keeps its progress per source in the outbox's schema.
  const source = `${SOURCE}_${broker.kind}_p${partitions}`
  const outbound = await broker.transport(partitions, 'relay')
  await outbound.declare(source)
  const relay = new Relay({ db: outboxDb, feed: new OutboxFeed(outboxDb, outbox, source), publisher: outbound.publisher() })
  relay.start()
  await until(`relay to ${source}`, async () => comparePositions(await relay.publishedPosition(), last) >= 0, 120_000)
  await relay.stop()
  await outbound.close()

  const schema = await bench.serverSchema(`parts_${broker.kind}_${partitions}`)
  const tap = new FeedTap()
  tap.hold()
  const instances = await Promise.all(
    Array.from({ length: partitions }, async (_, i) => {
      const db = bench.pool(4, APPLICATION)
      const transport = await broker.transport(partitions, `consumer-${i}`)
      const tracker = new ApplyTracker(false)
      const consumer = committedAccountView(schema, tracker)
      const follower = new PartitionedSubscription({ db, schema, consumer, transport: tap.transport(transport), sources: [source], batchSize: 500, instanceId: `bench-${i}` })
      return { db, transport, tracker, follower }
    }),
  )
  const followers: Follower[] = instances.map((x) => x.follower)
  const starting = performance.now()
  for (const follower of followers) follower.start()
  try {
    // Until each instance leads exactly its share: the first to start takes every partition, then hands back.
    // Meanwhile, how long partitions were led by nobody (each counted), once one instance had led them all.
    let unownedMs = 0
    let sampled: number | undefined
    await until('partitions spread over the instances', () => {
      const led = instances.reduce((n, x) => n + x.follower.leading(), 0)
      const now = performance.now()
      if (sampled !== undefined) unownedMs += ((partitions - led) * (now - sampled))
      if (sampled !== undefined || led === partitions) sampled = now
      return instances.every((x) => x.follower.leading() === 1)
    }, 60_000)
    const spreadMs = performance.now() - starting
    return { ...(await drain(bench, instances.map((x) => x.tracker), () => tap.open())), spreadMs, unownedMs }
  } finally {
    await Promise.all(followers.map((f) => f.stop()))
    for (const x of instances) {
      await x.transport.close()
      await bench.release(x.db)
    }
  }
}

/** Runs `start`, then waits until the trackers hold every event between them; charges the CPU of this process and the consumers' backends. */
async function drain(bench: Workbench, trackers: ApplyTracker[], start: () => void): Promise<Drained> {
  const cpu = new CpuMeter()
  const load = loadAverage()
  const applied = () => trackers.reduce((n, t) => n + t.appliedAt.size, 0)
  const before = process.cpuUsage()
  const result = await cpu.measure(
    () => backendsOf(bench.admin, APPLICATION),
    async () => {
      const started = performance.now()
      start()
      await until('every event applied', () => applied() >= EVENTS, 120_000).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${trackers.map((t) => t.appliedAt.size).join(' + ')} of ${EVENTS} applied`)
      })
      const ms = performance.now() - started
      return { ops: EVENTS, ms, perSecond: (EVENTS * 1000) / ms }
    },
  )
  const used = process.cpuUsage(before)
  return { ...result, perInstance: trackers.map((t) => t.appliedAt.size), processCpu: (used.user + used.system) / 1000 / result.ms, cpu, load }
}

function describe(d: Drained): string {
  return `${d.ops} events in ${(d.ms / 1000).toFixed(2)} s, this process ${(d.processCpu * 100).toFixed(0)}% of a core, CPU per event ${d.cpu.perOp()}, ${d.load}`
}

async function lastPosition(db: Database, schema: string): Promise<Position> {
  const { rows } = await db.query<{ xid: string; seq: string }>(`SELECT feed_xid::text AS xid, seq::text AS seq FROM ${schemaName(schema)}.outbox ORDER BY feed_xid DESC, seq DESC LIMIT 1`)
  return formatPosition({ xid: BigInt(rows[0]!.xid), seq: BigInt(rows[0]!.seq) })
}
