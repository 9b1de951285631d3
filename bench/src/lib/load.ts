import { sleep } from '@tidings/postgres'

export interface Throughput {
  ops: number
  ms: number
  perSecond: number
}

/**
 * Closed loop: `concurrency` callers each run `op` back to back until the duration is over. The rate
 * counts every completed op over the time until the last caller finished. The first error stops every
 * caller and is rethrown.
 */
export async function closedLoop(concurrency: number, durationMs: number, op: (caller: number) => Promise<void>): Promise<Throughput> {
  const start = performance.now()
  const deadline = start + durationMs
  let ops = 0
  let failed = false
  const callers = Array.from({ length: concurrency }, async (_, caller) => {
    while (!failed && performance.now() < deadline) {
      await op(caller)
      ops++
    }
  })
  const results = await Promise.allSettled(callers.map((c) => c.catch((error: unknown) => ((failed = true), Promise.reject(error)))))
  const rejected = results.find((r) => r.status === 'rejected')
  if (rejected) throw rejected.reason
  const ms = performance.now() - start
  return { ops, ms, perSecond: (ops * 1000) / ms }
}

export function combine(parts: readonly Throughput[]): Throughput {
  const ops = parts.reduce((n, p) => n + p.ops, 0)
  const ms = parts.reduce((n, p) => n + p.ms, 0)
  return { ops, ms, perSecond: ms > 0 ? (ops * 1000) / ms : 0 }
}

/**
 * Runs the named phases in turn, `rounds` times (A B A B …), and sums each phase's rounds: a ratio of two
 * phases then compares them under the same background load, which on a shared machine drifts.
 */
export async function alternate<K extends string>(rounds: number, phases: Record<K, () => Promise<Throughput>>): Promise<Record<K, Throughput>> {
  const names = Object.keys(phases) as K[]
  const runs = new Map<K, Throughput[]>(names.map((n) => [n, []]))
  for (let round = 0; round < rounds; round++) {
    for (const name of names) runs.get(name)!.push(await phases[name]())
  }
  return Object.fromEntries(names.map((n) => [n, combine(runs.get(n)!)])) as Record<K, Throughput>
}

export interface OpenLoopResult {
  issued: number
  /** The most operations that were started and not yet finished at once. */
  maxOutstanding: number
  /** How late the scheduler started an operation at worst (a busy event loop delays its timers). */
  maxLateMs: number
}

/**
 * Open loop at a fixed rate: operation i is due at start + i/rate whatever happened to the ones before,
 * so a slow system meets more arrivals instead of fewer (no coordinated omission). Timers tick about
 * every millisecond; each tick starts every operation that has fallen due.
 */
export async function openLoop(
  ratePerSecond: number,
  durationMs: number,
  op: (i: number, dueAt: number) => Promise<void>,
): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((ratePerSecond * durationMs) / 1000))
  const interval = 1000 / ratePerSecond
  const start = performance.now()
  const running: Promise<void>[] = []
  const errors: unknown[] = []
  let outstanding = 0
  let maxOutstanding = 0
  let issued = 0
  let maxLateMs = 0
  while (issued < total && errors.length === 0) {
    const now = performance.now()
    const due = Math.min(total, Math.floor((now - start) / interval) + 1)
    while (issued < due) {
      const i = issued++
      maxLateMs = Math.max(maxLateMs, now - (start + i * interval))
      outstanding++
      maxOutstanding = Math.max(maxOutstanding, outstanding)
      running.push(
        op(i, start + i * interval)
          .catch((error: unknown) => {
            errors.push(error)
          })
          .finally(() => {
            outstanding--
          }),
      )
    }
    await sleep(Math.max(0, start + issued * interval - performance.now()))
  }
  await Promise.all(running)
  if (errors.length > 0) throw errors[0]
  return { issued, maxOutstanding, maxLateMs }
}

/** Polls `check` every few milliseconds until it is true; throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await sleep(5)
  }
}
