import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { silentLogger, systemClock } from '@tidings/core'
import { seconds } from '../../lib/env'
import type { Report } from '../../lib/report'
import { REDIS_URL, RedisWaitingRoomStore, roomKeys, WaitingRoom } from '../../lib/waiting-room'
import { lowPercentile, pct } from './measure'
import { seededRandom } from '@tidings/testing'

const CAPACITY = 100
/** Short lives, so that a 20-s run sees hundreds of places change hands. */
const ACTIVE_TTL_MS = 5_000
const WAITING_IDLE_MS = 3_000
const ADMIT_INTERVAL_MS = 1_000
/** Joins a second (Poisson): more than the places free up, so the line never runs dry. */
const JOINS_PER_SECOND = 40
/** A present waiter polls its status this often (the web page polls every 2 s when it has no push). */
const POLL_MS = 1_000
/** The first 100 are admitted at once and would end together: a warm-up lets the ends spread out. */
const WARM_UP_MS = 10_000
const SAMPLE_EVERY_MS = 100

/**
 * Figure 25: capacity 100 on Redis (`WaitingRoom` with its 1-s tick), ACTIVE tokens living 5 s, waiters
 * idle after 3 s without a poll. Members join at random (40 a second); a fifth of them go idle at once
 * (never poll: they expire waiting, or are admitted and hold the place until its time is up); the rest poll
 * every second until ACTIVE, then 60 % leave after 0.5–4 s (buying or giving up) and 40 % go idle. Every
 * 100 ms over 20 s (after 10 s of warm-up) the bench counts the ACTIVE tokens whose time is not up (the store's
 * `active` set by the end of their time): the fraction of the capacity that members can use.
 */
export async function capacityInUse(report: Report, redis: Redis, prefix: string): Promise<void> {
  const roomPrefix = `${prefix}:churn`
  const store = new RedisWaitingRoomStore(REDIS_URL, roomPrefix)
  const room = new WaitingRoom({
    store,
    settings: { activeCapacity: CAPACITY, activeTtlMs: ACTIVE_TTL_MS, waitingIdleMs: WAITING_IDLE_MS, admitIntervalMs: ADMIT_INTERVAL_MS },
    clock: systemClock,
    logger: silentLogger,
  })
  const concertId = randomUUID()
  const { active } = roomKeys(roomPrefix, concertId)
  const random = seededRandom(25)
  const counts = { joined: 0, idleWaiting: 0, left: 0, idleActive: 0 }
  let stopping = false
  let failure: unknown
  const members: Promise<void>[] = []

  const member = async () => {
    const memberId = randomUUID()
    const goesIdle = random() < 0.2
    const leaves = random() < 0.6
    const leaveAfter = 500 + random() * 3_500
    let { view } = await room.join(concertId, memberId)
    counts.joined++
    if (goesIdle) return void counts.idleWaiting++
    while (!stopping && view.status === 'WAITING') {
      await sleep(POLL_MS * (0.8 + random() * 0.4))
      view = (await room.status(view.token))!
    }
    if (stopping || view.status !== 'ACTIVE') return
    if (!leaves) return void counts.idleActive++
    await sleep(leaveAfter)
    if (!stopping) await room.leave(view.token, memberId)
    counts.left++
  }
  const spawn = () => members.push(member().catch((error: unknown) => void (failure ??= error)))

  room.start()
  try {
    for (let i = 0; i < CAPACITY + 200; i++) spawn()
    const started = performance.now()
    const sampleFrom = started + WARM_UP_MS
    const until = sampleFrom + seconds(20)
    let nextJoin = started
    let nextSample = sampleFrom
    const live: number[] = []
    const stored: number[] = []
    const lines: number[] = []
    while (performance.now() < until) {
      if (failure) throw failure
      const now = performance.now()
      while (nextJoin <= now) {
        spawn()
        nextJoin += (-Math.log(1 - random()) / JOINS_PER_SECOND) * 1000
      }
      if (now >= nextSample) {
        nextSample += SAMPLE_EVERY_MS
        const [inTime, all, line] = await Promise.all([redis.zcount(active, `(${Date.now()}`, '+inf'), redis.zcard(active), redis.zcard(roomKeys(roomPrefix, concertId).waiting)])
        live.push(inTime / CAPACITY)
        stored.push(all / CAPACITY)
        lines.push(line)
      }
      await sleep(Math.max(1, Math.min(nextJoin, nextSample) - performance.now()))
    }
    stopping = true
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const p5 = lowPercentile(live, 5)
    const ok = mean(live) >= 0.95 && p5 >= 0.95
    report.add({
      id: '25',
      figure: `capacity in use under churn: ACTIVE and not past their time / capacity ${CAPACITY}, sampled every ${SAMPLE_EVERY_MS} ms for ${(seconds(20) / 1000).toFixed(0)} s; mean / p5`,
      value: `${pct(mean(live))} / ${pct(p5)}`,
      goal: '≥ 95 % (both)',
      met: ok,
    })
    report.detail(
      `25: ${live.length} samples; ACTIVE in the store (past their time but not yet swept included) mean ${pct(mean(stored))}; line ${Math.min(...lines)}–${Math.max(...lines)} waiting; ` +
        `${counts.joined} joined, ${counts.idleWaiting} went idle waiting, ${counts.left} left when ACTIVE, ${counts.idleActive} idled out their ${ACTIVE_TTL_MS / 1000}-s time; tick every ${ADMIT_INTERVAL_MS} ms`,
    )
  } finally {
    stopping = true
    await room.stop()
    await Promise.race([Promise.all(members), sleep(10_000)])
    store.close()
  }
}
