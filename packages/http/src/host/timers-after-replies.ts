import type { Logger } from '@tidings/core'
import type { Follower, Scheduler } from '@tidings/postgres'
import type { Worker } from './service'

/** How often the replies' progress is read while the timers wait for it. */
const CHECK_MS = 200
/** The longest the timers wait (a participant's feed that cannot be read at all must not stop every timeout). */
const LONGEST_WAIT_MS = 60_000

/**
 * Starts a saga orchestrator's timers only once its replies consumer has applied every reply that was
 * already in the participants' feeds when they were started (the process started). After an outage, timers that came due
 * while it was down would otherwise fire before the replies that beat them are read, and undo steps that
 * had succeeded in time: a timeout counts only the time the orchestrator could hear the answer.
 */
export function timersAfterReplies(timers: Scheduler, replies: Pick<Follower, 'lag'>, logger: Logger): Worker {
  let stopped = false
  let waiting: Promise<void> | undefined
  let startedAt = Date.now()
  const caughtUp = async (): Promise<boolean> => {
    const lag = await replies.lag()
    return Object.values(lag).every((l) => l.events === 0 || (l.oldestUnreadAt !== undefined && l.oldestUnreadAt.getTime() > startedAt))
  }
  const wait = async (): Promise<void> => {
    const deadline = Date.now() + LONGEST_WAIT_MS
    while (!stopped && Date.now() < deadline) {
      if (await caughtUp().catch((error: unknown) => (logger.warn({ err: error }, 'saga timers: could not read the replies’ progress'), false))) break
      await new Promise((resolve) => setTimeout(resolve, CHECK_MS))
    }
    if (Date.now() >= deadline) logger.warn({ waitedMs: LONGEST_WAIT_MS }, 'saga timers start before the replies caught up')
    if (!stopped) timers.start()
  }
  return {
    start() {
      stopped = false
      startedAt = Date.now()
      waiting ??= wait()
    },
    async stop() {
      stopped = true
      await waiting
      waiting = undefined
      await timers.stop()
    },
  }
}
