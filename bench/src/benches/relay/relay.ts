import { openBroker, probeBroker, type BrokerKind } from '../../lib/brokers'
import type { Report } from '../../lib/report'
import type { Workbench } from '../../lib/workbench'
import { backlog } from './backlog'
import { reportBroker, reportNats } from './report'
import { brokerRounds, natsRounds } from './rounds'
import { APPLICATION, EMBEDDED_EVENTS, MAX_IN_FLIGHT, NATS_URL, PARTITIONS, RABBITMQ_URL, REDIS_URL, SERVER_EVENTS, TIMEOUT_MS, TRANSPORT } from './settings'

/**
 * Figure 14 (14e on PGlite): the relay's publish rate to NATS JetStream against the raw publish rate of the
 * same client library in the same run (issue #4, goal ≥ 0.8).
 *
 * - Raw ceilings: `@nats-io/jetstream`'s `js.publish` called directly with the envelopes the relay
 *   publishes (read from the same outbox: same JSON, same partition subjects, `msgID` = envelope id, the
 *   same `timeout`), JSON.stringify per message as the publisher does, at most MAX_IN_FLIGHT PubAcks
 *   outstanding, one window over the whole round (no pages). Two ways to keep the window full:
 *   *window* — as NatsPublisher does, one publish per PubAck that comes back (figure 14's ceiling);
 *   *bursts* — wait until half the window is confirmed, then refill it at once (figure 14b's ceiling;
 *   the same limit of outstanding PubAcks, but the client library's best on this machine, ~2×).
 * - Relay: N events pre-written into an outbox (`writeBacklog`), then a `Relay` with the transport's
 *   publisher (batchSize 500, the default) started at START; events/s from `start()` until
 *   `publishedPosition()` (polled every 20 ms) reaches the outbox's last position. Every round publishes
 *   to a fresh stream (JetStream dedupes by msgID per stream), checked to hold exactly N messages and
 *   deleted afterwards.
 *
 * The raw windows and the relay alternate (twice) so they share the background load. (NatsPublisher
 * refills its window in bursts since this bench showed the difference.) Once after: the relay with
 * batchSize 2,000, over the first half of the outbox. Details: CPU per event by process, and the relay's
 * time per page split into outbox read, publish (until every PubAck is in) and progress save.
 *
 * Figures 14r and 14s (14re, 14se on PGlite): the same outbox relayed to RabbitMQ stream queues and to
 * Redis Streams, each against the raw publish rate of its own client library (rabbitmq-client's
 * `basicPublish` with confirms; ioredis' XADD) at the same window, refilled in bursts as both publishers
 * do, alternating twice (`brokerRounds`). The outbox is written once per engine for all three brokers.
 *
 * Here the brokers are the machine's own servers at their URLs; `lib/brokers.ts` opens each one's
 * transport and raw client, `rounds.ts` runs the phases, `report.ts` prints the figures.
 */
export async function relayBench(bench: Workbench, report: Report): Promise<void> {
  const brokers = await brokersThatAnswer(report)
  for (const engine of ['postgres', 'pglite'] as const) {
    const db = engine === 'postgres' ? bench.pool(2, APPLICATION) : await bench.pglite()
    const outbox = await backlog(bench, engine, db, engine === 'postgres' ? SERVER_EVENTS : EMBEDDED_EVENTS)
    for (const { kind, url } of brokers) {
      const broker = await openBroker(bench, kind, url, TRANSPORT)
      if (kind === 'nats') reportNats(report, engine, broker, await natsRounds(bench, engine, db, outbox, broker))
      else reportBroker(report, engine, broker, outbox, await brokerRounds(bench, engine, db, outbox, broker))
    }
    if (engine === 'postgres') await bench.release(db)
  }
}

/** The brokers in the order they are measured, where they listen, and what their detail line says of them. */
const BROKERS: ReadonlyArray<{ kind: BrokerKind; label: string; url: string; about: (version: string | undefined) => string }> = [
  { kind: 'nats', label: 'NATS', url: NATS_URL, about: (version) => `NATS server ${version} at ${NATS_URL} (JetStream, file storage); ` },
  {
    kind: 'rabbitmq',
    label: 'RabbitMQ',
    url: RABBITMQ_URL,
    about: () => `RabbitMQ at ${RABBITMQ_URL.replace(/\/\/[^@]*@/, '//')} (stream queues); rabbitmq-client 5.0.8, confirms, `,
  },
  { kind: 'redis', label: 'Redis', url: REDIS_URL, about: (version) => `Redis ${version} at ${REDIS_URL} (streams, as configured: the shared server keeps nothing on disk); ioredis, ` },
]

/** The brokers that answer, each with a detail line; the others are skipped with a warning. */
async function brokersThatAnswer(report: Report): Promise<typeof BROKERS> {
  const answering: Array<(typeof BROKERS)[number]> = []
  for (const broker of BROKERS) {
    try {
      const version = await probeBroker(broker.kind, broker.url, TIMEOUT_MS)
      report.detail(`relay: ${broker.about(version)}${PARTITIONS} partitions, maxInFlight ${MAX_IN_FLIGHT}`)
      answering.push(broker)
    } catch (error) {
      console.warn(`     SKIPPED ${broker.label}: no server at ${broker.url} (${String(error)})`)
    }
  }
  return answering
}
