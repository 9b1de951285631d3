import type { Envelope, Publisher } from '@tidings/core'
import { PartitionedSubscription, Relay, Subscription, type UnitOfWork } from '@tidings/postgres'
import { startBroker, type BenchBroker, type BrokerKind } from '../lib/brokers'
import { MachineBusy } from '../lib/cpu'
import { loadAverage, seconds } from '../lib/env'
import { FeedTap } from '../lib/feed-tap'
import { HorizonWatch } from '../lib/horizon-watch'
import { openLoop, until, type OpenLoopResult } from '../lib/load'
import type { Report } from '../lib/report'
import { serverPipeline, type ServerPipeline } from '../lib/server-pipeline'
import { distribution, formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { ApplyTracker, committedAccountView, openAccount, SOURCE } from '../lib/workload'
import { ChildServer } from '../lib/child'
import type { WriteRates } from './write-throughput'

/**
 * Figure 15 (issue #4): commit → read model through each broker, open loop at 0.5 W (goal p99 ≤ 50 ms),
 * and the direct pipeline of figure 4 (no broker) measured in the same run as the baseline.
 *
 * - Every pipeline is `serverPipeline`'s: the writer's unit of work on its own 16-connection pool sends
 *   NOTIFY after commit; a 4-connection pool forwards it into the outbox feed's signals.
 * - Direct: a `Subscription` on that pool reads the outbox (figure 4's pipeline).
 * - Broker: a `Relay` on that pool (as in a producing service's process that did not write the event)
 *   publishes the outbox to a transport with 4 partitions; a `PartitionedSubscription` (one instance, so
 *   it applies all 4) on a pool of its own and a transport with its own connections applies them: in this
 *   process (15n, 15s, 15r), and again in a process of its own as a query service would run it (15np,
 *   15sp, 15rp; `lib/broker-consumer.ts`, its times on the clock both processes share). Each broker is a
 *   throwaway server started for its round and removed after it.
 * - The same account view (batchSize 500); an event counts as visible when its page committed (the
 *   consumer's `afterCommit`: exact while partitions commit pages concurrently). 1 s of warm-up, then
 *   10 s measured; every event's latency is visible − commit.
 * - Where the time goes, per event: the relay's read (its publish starts), the broker's confirm, the
 *   consumer's read (its reader hands the page out), the apply.
 */
const PARTITIONS = 4
const BROKERS: readonly BrokerKind[] = ['nats', 'redis', 'rabbitmq']

/** The brokers to measure: all, or those BENCH_BROKERS names (e.g. `nats,redis`). */
function brokersToMeasure(): BrokerKind[] {
  const named = process.env.BENCH_BROKERS?.split(',').map((b) => b.trim()).filter((b) => b !== '')
  if (!named || named.length === 0) return [...BROKERS]
  const unknown = named.filter((b) => !BROKERS.includes(b as BrokerKind))
  if (unknown.length > 0) throw new RangeError(`BENCH_BROKERS: unknown ${unknown.join(', ')} (known: ${BROKERS.join(', ')})`)
  return named as BrokerKind[]
}

export async function brokerLatency(bench: Workbench, report: Report, rates: WriteRates): Promise<void> {
  // The load is 0.5 W; BENCH_LOAD_SHARE=0.25 shows what a lighter one does (is it saturation?).
  const share = Number(process.env.BENCH_LOAD_SHARE ?? 0.5)
  if (!(share > 0 && share <= 1)) throw new RangeError(`BENCH_LOAD_SHARE must be in (0, 1], not ${process.env.BENCH_LOAD_SHARE}`)
  const rate = rates.w * share
  const figure = (id: string, via: string, runs: Stamps[]) => {
    const latency = distribution(runs.flatMap((run) => run.between('committed', 'applied')))
    report.add({
      id,
      figure: `commit→read model p50/p99 ${via}, outbox on PostgreSQL, open loop at ${share} W = ${formatRate(rate, '/s')}`,
      value: `${formatMs(latency.p50)} / ${formatMs(latency.p99)}`,
      goal: 'p99 ≤ 50 ms',
      met: latency.p99 <= 50,
    })
  }
  // The baseline before and after the brokers, both in its figure: the background load drifts meanwhile.
  const direct = [await measure(bench, rate)]
  describe(report, 'direct (before the brokers)', direct[0]!)
  for (const kind of brokersToMeasure()) {
    const broker = await startBroker(bench, kind)
    if (!broker) continue
    try {
      report.detail(`broker latency: ${broker.about}; ${PARTITIONS} partitions, one consumer instance`)
      const stamps = await measure(bench, rate, broker)
      figure(`15${broker.id}`, `via ${broker.name} (relay → ${PARTITIONS} partitions → PartitionedSubscription)`, [stamps])
      describe(report, broker.name, stamps)
      const apart = await measure(bench, rate, broker, 'own process')
      figure(`15${broker.id}p`, `via ${broker.name}, the consumer in a process of its own`, [apart])
      describe(report, `${broker.name}, the consumer in its own process`, apart)
    } finally {
      await broker.stop()
    }
  }
  direct.push(await measure(bench, rate))
  describe(report, 'direct (after the brokers)', direct[1]!)
  figure('15', 'direct (figure 4: the outbox via NOTIFY, no broker; before and after the brokers)', direct)
}

type Stage = 'committed' | 'published' | 'confirmed' | 'delivered' | 'applied'

/** When each event passed each stage (`performance.now()`, first time only); the run's conditions. */
class Stamps {
  readonly at: Record<Stage, Map<string, number>> = { committed: new Map(), published: new Map(), confirmed: new Map(), delivered: new Map(), applied: new Map() }
  /** Due → commit per command: the writer's share (scheduler delays count). */
  readonly commandMs: number[] = []
  run?: OpenLoopResult
  load = loadAverage()
  horizon = ''
  busy = ''

  note(stage: Stage, events: readonly Envelope[]): void {
    const at = performance.now()
    const stamps = this.at[stage]
    for (const e of events) if (!stamps.has(e.id)) stamps.set(e.id, at)
  }

  /** Per committed event, the time from one stage to a later one (negative: overlapped, counted as 0). */
  between(from: Stage, to: Stage): number[] {
    return [...this.at.committed.keys()].map((id) => Math.max(0, this.at[to].get(id)! - this.at[from].get(id)!))
  }

  early(): number {
    return [...this.at.committed].filter(([id, committed]) => this.at.applied.get(id)! < committed).length
  }
}

/** The relay's publisher, noting when each event's publish started and when the broker confirmed it. */
function stamping(inner: Publisher, stamps: Stamps): Publisher {
  return {
    partitions: inner.partitions,
    deduplicates: inner.deduplicates,
    async publish(source, events) {
      stamps.note('published', events)
      await inner.publish(source, events)
      stamps.note('confirmed', events)
    },
    close: () => inner.close(),
  }
}

/** Where the consumer runs: in this process (with the writer and the relay), or in one of its own. */
type Placement = 'this process' | 'own process'

/** The consumer side of a pipeline, wherever it runs. */
interface ConsumerSide {
  active(): Promise<boolean>
  /** How many events it applied since it last forgot. */
  applied(): Promise<number>
  forget(): Promise<void>
  /** Copies when each of the stamps' committed events was handed to it and applied, on this process's clock. */
  collect(stamps: Stamps): Promise<void>
  stop(): Promise<void>
}

/** One pipeline at `rate` for 10 s (after 1 s of warm-up); resolves once the read model holds every event. */
async function measure(bench: Workbench, rate: number, broker?: BenchBroker, placement: Placement = 'this process'): Promise<Stamps> {
  const p = await serverPipeline(bench, `blat_${broker?.kind ?? 'direct'}${placement === 'own process' ? '_p' : ''}`)
  const stamps = new Stamps()
  const outbound = await broker?.transport(PARTITIONS, 'relay')
  await outbound?.declare(SOURCE)
  const relay = outbound && new Relay({ db: p.reader, feed: p.feed, publisher: stamping(outbound.publisher(), stamps) })
  const consumer = broker && placement === 'own process' ? await consumerProcess(broker, p.readerSchema) : await consumerHere(bench, p, broker)
  const horizon = new HorizonWatch(bench.admin)
  relay?.start()
  try {
    await until('pipeline ready', async () => (await consumer.active()) && (relay?.isActive() ?? true))
    // A count first (cheap to ask for), then every event by its id.
    const caughtUp = async () => {
      await until('read model caught up', async () => (await consumer.applied()) >= stamps.at.committed.size)
      await until('every event applied', async () => {
        await consumer.collect(stamps)
        return [...stamps.at.committed.keys()].every((id) => Number.isFinite(stamps.at.applied.get(id)))
      })
    }
    await openLoop(rate, seconds(1), (_i, dueAt) => commit(p.uow, p.writerSchema, stamps, dueAt))
    await caughtUp()
    stamps.at.committed.clear()
    await consumer.forget()
    stamps.commandMs.length = 0
    stamps.load = loadAverage()
    horizon.start()
    const machine = new MachineBusy()
    stamps.run = await openLoop(rate, seconds(10), (_i, dueAt) => commit(p.uow, p.writerSchema, stamps, dueAt))
    stamps.busy = machine.stop()
    await caughtUp()
    stamps.horizon = await horizon.stop()
    if (process.env.BENCH_SLOW_EVENTS) {
      const start = Math.min(...stamps.at.committed.values())
      const slow = [...stamps.at.committed].filter(([id, at]) => stamps.at.applied.get(id)! - at > 200).map(([, at]) => Math.round(at - start))
      console.log(`slow events (> 200 ms) at ms into the run: ${slow.length} ${JSON.stringify(slow.filter((_, i) => i % 20 === 0))}`)
    }
    return stamps
  } finally {
    await horizon.stop()
    await consumer.stop()
    await relay?.stop()
    await outbound?.close()
    await p.unlisten()
    for (const db of new Set([p.writer, p.reader])) await bench.release(db)
  }
}

/** The consumer in this process: the direct pipeline's Subscription, or a PartitionedSubscription on the broker. */
async function consumerHere(bench: Workbench, p: ServerPipeline, broker?: BenchBroker): Promise<ConsumerSide> {
  const tracker = new ApplyTracker(true)
  const tap = new FeedTap()
  const consumer = committedAccountView(p.readerSchema, tracker)
  const db = broker ? bench.pool(8, 'tidings-bench-consumer') : p.reader
  const inbound = await broker?.transport(PARTITIONS, 'consumer')
  const follower = inbound
    ? new PartitionedSubscription({ db, schema: p.readerSchema, consumer, transport: tap.transport(inbound), batchSize: 500 })
    : new Subscription({ db, schema: p.readerSchema, consumer, feeds: [tap.reader(p.feed)], batchSize: 500 })
  follower.start()
  return {
    active: async () => follower.isActive(),
    applied: async () => tracker.appliedAt.size,
    forget: async () => {
      tracker.appliedAt.clear()
      tap.deliveredAt.clear()
    },
    collect: async (stamps) => {
      for (const [stage, from] of [['delivered', tap.deliveredAt], ['applied', tracker.appliedAt]] as const) for (const id of stamps.at.committed.keys()) stamps.at[stage].set(id, from.get(id)!)
    },
    stop: async () => {
      await follower.stop()
      await inbound?.close()
      if (db !== p.reader) await bench.release(db)
    },
  }
}

/** The consumer in a process of its own (`lib/broker-consumer.ts`), as a query service would run it. */
async function consumerProcess(broker: BenchBroker, schema: string): Promise<ConsumerSide> {
  const child = await ChildServer.start('./broker-consumer.ts', 'broker consumer', {
    BENCH_CONSUMER_SCHEMA: schema,
    BENCH_BROKER_KIND: broker.kind,
    BENCH_BROKER_URL: broker.url,
    BENCH_PARTITIONS: String(PARTITIONS),
  })
  const { offsetMs } = await child.clockOffset()
  return {
    active: () => child.call<boolean>('active'),
    applied: () => child.call<number>('applied'),
    forget: () => child.call('forget'),
    collect: async (stamps) => {
      const ids = [...stamps.at.committed.keys()]
      const theirs = await child.call<{ delivered: Array<number | null>; applied: Array<number | null> }>('stamps', ids)
      // Their shared-clock time → ours → this process's performance.now().
      const here = (at: number | null) => (at === null ? Number.NaN : at - offsetMs - performance.timeOrigin)
      ids.forEach((id, i) => {
        stamps.at.delivered.set(id, here(theirs.delivered[i]!))
        stamps.at.applied.set(id, here(theirs.applied[i]!))
      })
    },
    stop: () => child.stop(),
  }
}

async function commit(uow: UnitOfWork, schema: string, stamps: Stamps, dueAt: number): Promise<void> {
  const id = await openAccount(uow, schema)
  const now = performance.now()
  stamps.at.committed.set(id, now)
  stamps.commandMs.push(now - dueAt)
}

function describe(report: Report, label: string, stamps: Stamps): void {
  const d = distribution(stamps.between('committed', 'applied'))
  const part = (what: string, from: Stage, to: Stage) => {
    const s = distribution(stamps.between(from, to))
    return `${what} ${formatMs(s.p50)} / ${formatMs(s.p99)}`
  }
  const relayed = stamps.at.published.size > 0
  const parts = relayed
    ? [part('commit→relay read', 'committed', 'published'), part('relay read→consumer read', 'published', 'delivered'), part('consumer read→applied', 'delivered', 'applied'), part('(publish→confirmed', 'published', 'confirmed') + ')']
    : [part('commit→subscription read', 'committed', 'delivered'), part('read→applied', 'delivered', 'applied')]
  const early = stamps.early()
  report.detail(
    `broker latency ${label}: ${d.count} events, p50 ${formatMs(d.p50)}, p90 ${formatMs(d.p90)}, p99 ${formatMs(d.p99)}, max ${formatMs(d.max)}; ` +
      `p50 / p99 of its parts: ${parts.join(', ')}; command (due→commit) p99 ${formatMs(distribution(stamps.commandMs).p99)}, at most ${stamps.run?.maxOutstanding} in flight, scheduler at worst ${formatMs(stamps.run?.maxLateMs ?? 0)} late; ${stamps.horizon}; ${stamps.busy}, ${stamps.load}` +
      (early > 0 ? `; ${early} applied before the writer saw its commit (counted as 0)` : ''),
  )
}
