import { PartitionedSubscription, PgDatabase } from '@tidings/postgres'
import { connectBroker, type BrokerKind } from './brokers'
import { serveParent, wallNow } from './child'
import { DATABASE_URL } from './env'
import { FeedTap } from './feed-tap'
import { ApplyTracker, committedAccountView } from './workload'

/**
 * The consumer side of figure 15 in a process of its own, as a query service would run: a
 * `PartitionedSubscription` (one instance, every partition) reading the broker through a transport of its
 * own and applying the account view on a pool of its own. It tells the parent, over IPC, when each event
 * was handed to it and when its page committed, on the clock both processes share (`wallNow`).
 *
 * Environment: BENCH_CONSUMER_SCHEMA, BENCH_BROKER_KIND, BENCH_BROKER_URL, BENCH_PARTITIONS.
 */
const env = process.env
const tracker = new ApplyTracker(true)
const tap = new FeedTap()
const db = new PgDatabase({ connectionString: DATABASE_URL, maxConnections: 8, applicationName: 'tidings-bench-consumer' })
const transport = await connectBroker(env.BENCH_BROKER_KIND as BrokerKind, env.BENCH_BROKER_URL!, Number(env.BENCH_PARTITIONS), 'consumer')
const follower = new PartitionedSubscription({
  db,
  schema: env.BENCH_CONSUMER_SCHEMA!,
  consumer: committedAccountView(env.BENCH_CONSUMER_SCHEMA!, tracker),
  transport: tap.transport(transport),
  batchSize: 500,
})
follower.start()

/** Stamps on the shared clock, for the events the parent names. */
const onWallClock = (stamps: Map<string, number>, ids: readonly string[]): Array<number | null> =>
  ids.map((id) => {
    const at = stamps.get(id)
    return at === undefined ? null : performance.timeOrigin + at
  })

serveParent({
  now: () => wallNow(),
  active: () => follower.isActive(),
  applied: () => tracker.appliedAt.size,
  forget: () => {
    tracker.appliedAt.clear()
    tap.deliveredAt.clear()
  },
  stamps: (ids: string[]) => ({ delivered: onWallClock(tap.deliveredAt, ids), applied: onWallClock(tracker.appliedAt, ids) }),
  stop: async () => {
    await follower.stop()
    await transport.close()
    await db.close()
  },
})
process.send?.({ ready: 0 })
