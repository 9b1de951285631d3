/**
 * Experiment behind the proposal for PgliteDatabase's lock (see the bench README). PGlite runs inside the
 * event loop and its queries resolve without waiting for I/O, so a queue of transactions waiting for the
 * one session drains entirely in microtasks: timers (lease heartbeats, schedulers) and sockets (HTTP)
 * wait until the queue is empty. A lock that yields (setImmediate) before each holder bounds the wait to
 * one transaction. Run: `npm run experiment:pglite-event-loop -w bench`.
 */
import type { Database } from '@tidings/postgres'
import { Workbench } from '../lib/workbench'
import { rawOpenAccountEmbedded } from '../lib/workload'

const QUEUED = 1_000

/** A FIFO lock like the platform's, but each holder starts in a macrotask of its own. */
function yieldingLock(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<void> = Promise.resolve()
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(work)
    tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}

/** Queues QUEUED transactions at once; returns their rate and the longest time a 1 ms timer could not run. */
async function drain(db: Database, schema: string, lock?: <T>(work: () => Promise<T>) => Promise<T>): Promise<{ perSecond: number; stallMs: number }> {
  let last = performance.now()
  let stallMs = 0
  const tick = setInterval(() => {
    const now = performance.now()
    stallMs = Math.max(stallMs, now - last)
    last = now
  }, 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  stallMs = 0
  last = performance.now()
  const start = performance.now()
  const one = (): Promise<void> => rawOpenAccountEmbedded(db, schema)
  await Promise.all(Array.from({ length: QUEUED }, () => (lock ? lock(one) : one())))
  const end = performance.now()
  stallMs = Math.max(stallMs, end - last)
  clearInterval(tick)
  return { perSecond: (QUEUED * 1000) / (end - start), stallMs }
}

const bench = new Workbench()
try {
  const db = await bench.pglite()
  const schema = await bench.embeddedSchema(db, 'exp_loop')
  const lock = yieldingLock()
  await drain(db, schema)
  console.log(`${QUEUED} transactions queued at once on PGlite:`)
  for (let round = 0; round < 2; round++) {
    for (const [name, withLock] of [
      ['platform lock (today)', undefined],
      ['lock that yields per holder', lock],
    ] as const) {
      const r = await drain(db, schema, withLock)
      console.log(`  ${name.padEnd(28)} ${Math.round(r.perSecond).toString().padStart(6)} tx/s   longest event-loop stall ${Math.round(r.stallMs)} ms`)
    }
  }
} finally {
  await bench.close()
}
