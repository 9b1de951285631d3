import { embeddedLatency, serverLatency } from './benches/latency'
import { feedRead } from './benches/feed-read'
import { embeddedProjection, serverProjection } from './benches/projection'
import { embeddedWriteThroughput, serverWriteThroughput } from './benches/write-throughput'
import { writerWithSubscription } from './benches/writer-with-subscription'
import { machine, SCALE } from './lib/env'
import { Report } from './lib/report'
import { pgliteVersion, serverVersion } from './lib/versions'
import { Workbench } from './lib/workbench'

/**
 * `npm run bench`: every figure of the platform against the raw ceilings of this machine, measured in
 * this run. It prints; it never passes or fails on a number, but exits non-zero when anything crashes.
 */
async function main(): Promise<void> {
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
      `PGlite ${pgliteVersion()} (on disk, temporary directory)`,
      `BENCH_SCALE=${SCALE}`,
    ]
    console.log(`Tidings bench\n  ${conditions.join('\n  ')}\n`)

    console.log('PostgreSQL')
    const server = await serverWriteThroughput(bench, report)
    const backlog = await feedRead(bench, report)
    await serverProjection(bench, report, backlog, server.w)
    await serverLatency(bench, report, server)
    await writerWithSubscription(bench, report)

    console.log('PGlite')
    const lite = await bench.pglite()
    const embedded = await embeddedWriteThroughput(bench, report, lite)
    await embeddedLatency(bench, report, lite, embedded)
    await embeddedProjection(bench, report, lite, embedded.w)

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
