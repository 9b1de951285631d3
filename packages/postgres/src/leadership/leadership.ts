import type { Logger } from '@tidings/core'
import type { Lease } from './lease'
import { sleep } from '../sleep'

/**
 * Competes for a lease until `stop` aborts: whoever holds it runs `lead` (a standby polls and takes over
 * when the lease expires); a failure backs off and competes again. The lease is released at the end.
 */
export async function runAsLeader(options: {
  lease: Lease
  stop: AbortSignal
  logger: Logger
  what: Record<string, unknown>
  lead: (leadership: AbortSignal) => Promise<void>
  /** Asked before every attempt to take the lease; false waits (e.g. this instance has its fair share). */
  mayLead?: () => boolean
}): Promise<void> {
  const { lease, stop, logger } = options
  let failures = 0
  while (!stop.aborted) {
    try {
      if ((options.mayLead?.() ?? true) && (await lease.acquire())) {
        failures = 0
        await whileLeading(lease, stop, options.lead)
      } else {
        await sleep(Math.max(50, lease.ttlMs / 3), stop)
      }
    } catch (error) {
      failures++
      logger.warn({ err: error, ...options.what }, 'leader interrupted, retrying')
      await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)), stop)
    }
  }
  await lease.release().catch(() => {})
}

/**
 * Runs `work` while the lease stays ours: renews it every third of its TTL and aborts the signal `work`
 * gets as soon as a renewal fails or `stop` aborts. One renewal at a time: a renewal waits while our own
 * transactions share-lock the lease row, and piling renewals up would take every pooled connection.
 */
export async function whileLeading(lease: Lease, stop: AbortSignal, work: (leadership: AbortSignal) => Promise<void>): Promise<void> {
  const leadership = new AbortController()
  const onStop = (): void => leadership.abort()
  stop.addEventListener('abort', onStop, { once: true })
  if (stop.aborted) leadership.abort() // stopped while the lease was being acquired: no event will fire
  let renewal: Promise<void> | undefined
  const heartbeat = setInterval(() => {
    renewal ??= lease
      .renew()
      .then(
        (held) => void (held || leadership.abort()),
        () => {},
      )
      .finally(() => (renewal = undefined))
  }, Math.max(20, lease.ttlMs / 3))
  try {
    await work(leadership.signal)
  } finally {
    clearInterval(heartbeat)
    await renewal // the caller releases the lease after the last renewal, never before it
    stop.removeEventListener('abort', onStop)
  }
}
