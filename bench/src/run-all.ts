import { boardComments, type CommentRate } from './benches/board-comments'
import { boardRead } from './benches/board-read'
import { boardVisibility } from './benches/board-visibility'
import { brokerLatency } from './benches/broker-latency'
import { emmettAnchor } from './benches/emmett-anchor'
import { embeddedLatency, serverLatency } from './benches/latency'
import { seededBoard } from './lib/board'
import { feedRead } from './benches/feed-read'
import { ordersView } from './benches/orders-view'
import { partitionThroughput } from './benches/partition-throughput'
import { sagas } from './benches/sagas'
import { commands } from './benches/commands'
import { concert } from './benches/concert'
import { waiting } from './benches/waiting/waiting'
import { webPages } from './benches/web-pages'
import { embeddedProjection, serverProjection } from './benches/projection'
import { relayBench } from './benches/relay/relay'
import { embeddedWriteThroughput, serverWriteThroughput, type WriteRates } from './benches/write-throughput'
import { writerWithSubscription } from './benches/writer-with-subscription'
import { machine, SCALE } from './lib/env'
import { Report } from './lib/report'
import { pgliteVersion, serverVersion } from './lib/versions'
import { Workbench } from './lib/workbench'

/**
 * `npm run bench`: every figure of the platform against the raw ceilings of this machine, measured in
 * this run. It prints; it never passes or fails on a number, but exits non-zero when anything crashes.
 *
 * Names select benches: `npm run bench -- board-read board-comments` (or BENCH_ONLY="board-read"). The
 * groups: `platform` (figures 1–6, 1e–5e), `board` (all three board benches); `orders-view` is figure 11
 * (11m on MariaDB); `web` is figures 12–13 (the pages as `npm start` serves them); `relay` is figure 14
 * (14e on PGlite: the outbox relay to NATS JetStream against raw js.publish); `broker-latency` is figure 15
 * (commit → read model through each broker at 0.5 W; measures W first unless `platform` ran) and
 * `partition-throughput` figure 16 (competing consumers on 1, 2 and 4 partitions); `sagas` figures 17 and
 * 17b (sagas completed per second across processes / W, the console's saga list over a million rows);
 * `commands` figures 18 and 18b (an idempotent command / without a key; a failing route with alerts / without);
 * `concert` figures 19 and 20 (1,000 members on 50 seats: holds/s and p99; payments through the saga / W);
 * `waiting` figures 21–25 (the waiting room: a 100,000-member spike, status polling, the push channel,
 * estimated waits, capacity in use under churn); `emmett` figures 9m, 9ml, 9mc (the board's comment against
 * Emmett 0.42 on the same PostgreSQL, `bench/anchors/emmett/`); none means all.
 */
const BENCHES = ['platform', 'board-read', 'board-comments', 'board-visibility', 'orders-view', 'web', 'relay', 'broker-latency', 'partition-throughput', 'sagas', 'commands', 'concert', 'waiting', 'emmett'] as const
type BenchName = (typeof BENCHES)[number]

function selected(): Set<BenchName> {
  const names = [...process.argv.slice(2), ...(process.env.BENCH_ONLY ?? '').split(/[\s,]+/)].filter((n) => n !== '')
  if (names.length === 0) return new Set(BENCHES)
  const chosen = new Set<BenchName>()
  for (const name of names) {
    const matching = BENCHES.filter((b) => b === name || name === 'all' || (name === 'board' && b.startsWith('board-')))
    if (matching.length === 0) throw new Error(`Unknown bench ${name}: choose from ${[...BENCHES, 'board', 'all'].join(', ')}`)
    for (const b of matching) chosen.add(b)
  }
  return chosen
}

async function main(): Promise<void> {
  const only = selected()
  const started = performance.now()
  const bench = new Workbench()
  const report = new Report()
  // Ctrl-C still drops the run's schemas and temporary directory.
  process.once('SIGINT', () => {
    console.error('interrupted: cleaning up')
    void bench.close().finally(() => process.exit(130))
  })
  try {
    const conditions = [
      new Date().toISOString(),
      machine(),
      await serverVersion(bench.admin),
      `PGlite ${pgliteVersion()} (platform figures, web and relay: on disk, temporary directory; board: in memory)`,
      `BENCH_SCALE=${SCALE}`,
    ]
    console.log(`Tidings bench: ${[...only].join(', ')}\n  ${conditions.join('\n  ')}\n`)

    // W on PostgreSQL, for the figures at 0.5 W (measured once per run).
    let server: WriteRates | undefined
    if (only.has('platform')) {
      console.log('PostgreSQL')
      server = await serverWriteThroughput(bench, report)
      const backlog = await feedRead(bench, report)
      await serverProjection(bench, report, backlog, server.w)
      await serverLatency(bench, report, server)
      await writerWithSubscription(bench, report)

      console.log('PGlite')
      const lite = await bench.pglite()
      const embedded = await embeddedWriteThroughput(bench, report, lite)
      await embeddedLatency(bench, report, lite, embedded)
      await embeddedProjection(bench, report, lite, embedded.w)
    }

    for (const engine of ['postgres', 'pglite'] as const) {
      const step = (what: string) => console.log(`Board ${what} on ${engine === 'postgres' ? 'PostgreSQL' : 'PGlite (in memory)'}`)
      // board-read and board-visibility share one seeded board (100 posts × 20 comments) when both run.
      const shared = only.has('board-read') && only.has('board-visibility') ? await seededBoard(bench, engine) : undefined
      if (only.has('board-read')) {
        step('read')
        await boardRead(bench, report, engine, shared)
      }
      let rate: CommentRate | undefined
      if (only.has('board-comments')) {
        step('comments')
        rate = await boardComments(bench, report, engine)
      }
      if (only.has('board-visibility')) {
        step('visibility')
        await boardVisibility(bench, report, engine, rate, shared)
      }
      await shared?.board.stop()
    }

    if (only.has('emmett')) {
      console.log("Against a peer: the board's comment on Tidings and on Emmett 0.42, in process, on the same PostgreSQL")
      await emmettAnchor(bench, report)
    }

    if (only.has('orders-view')) {
      console.log('Orders: the order-status view, three concurrent sources (PostgreSQL, MariaDB)')
      await ordersView(bench, report)
    }

    if (only.has('web')) {
      console.log('Web pages: npm start on the embedded default (PGlite on disk), Chromium and 16 connections against bare node:http')
      await webPages(bench, report)
    }

    if (only.has('relay')) {
      console.log('Relay: outbox → NATS JetStream against raw js.publish (PostgreSQL, then PGlite on disk)')
      await relayBench(bench, report)
    }

    if (only.has('broker-latency')) {
      console.log('Broker latency: commit → read model at 0.5 W, direct and through each broker (throwaway servers)')
      server ??= await serverWriteThroughput(bench, report)
      await brokerLatency(bench, report, server)
    }

    if (only.has('partition-throughput')) {
      console.log('Partition throughput: competing PartitionedSubscription instances on 1, 2 and 4 partitions (throwaway servers)')
      await partitionThroughput(bench, report)
    }

    if (only.has('commands')) {
      console.log('Commands over HTTP: with and without an idempotency key; a failing route with and without alerts')
      await commands(bench, report)
    }

    if (only.has('concert')) {
      console.log('Concert: 1,000 members on 50 seats, and payments through the saga over HTTP (PostgreSQL)')
      await concert(bench, report)
    }

    if (only.has('waiting')) {
      console.log('Waiting room: 100,000 members join and poll, 20,000 connections pushed to, estimated waits, capacity under churn (Redis, PostgreSQL)')
      await waiting(bench, report)
    }

    if (only.has('sagas')) {
      console.log('Sagas: two-step sagas across three processes, and the console list over a million sagas')
      await sagas(bench, report)
    }

    console.log(`\n${report.table()}\n`)
    console.log(`Conditions: ${conditions.join('; ')}; finished with ${machine().replace(/.*load avg/, 'load avg')}; took ${((performance.now() - started) / 1000).toFixed(0)} s`)
  } finally {
    await bench.close()
  }
}

main().then(
  () => {
    // Anything a crashed figure left open must not keep the process alive.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref()
  },
  (error: unknown) => {
    console.error('bench crashed:', error)
    process.exitCode = 1
    setTimeout(() => process.exit(1), 2_000).unref()
  },
)
