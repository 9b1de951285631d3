import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { silentLogger, type Clock } from '@tidings/core'
import { SCALE } from '../../lib/env'
import type { Report } from '../../lib/report'
import { distribution } from '../../lib/stats'
import { REDIS_URL, RedisWaitingRoomStore, roomKeys, WaitingRoom } from '../../lib/waiting-room'
import { pct } from './measure'
import { seededRandom } from '@tidings/testing'

/** The room's clock runs this many times faster than the wall clock: 5 minutes of admissions in 12 s. */
const SPEED = 25
const CAPACITY = 50
/** ACTIVE members leave (or pay) at random, this many a second of the room's time on average; as many join. */
const PER_SECOND = 5
/** Waiting when the steady phase starts: a wait of about 100 s. */
const LINE = 500
/** The estimate divides by the admissions of the last 5 minutes (admission-rates.ts): a full window first. */
const WARM_UP_S = 300
const MEASURED_S = Math.max(60, Math.round(200 * SCALE))

/**
 * Figure 24: a room of capacity 50 on Redis whose ACTIVE members leave at random (a Poisson process,
 * 5 a second on average), each leave admitting the next, while members join at the same average pace.
 * Every join notes `estimatedWaitSeconds` (`WaitingRoom.join`); its actual wait is its admission time (the
 * store's `activated` set) minus its join. The room runs on a clock 25× the wall clock (the room and the
 * store take every time from it), so that the 5-minute window the estimate divides by is full after 12 s;
 * the figure is over the joins of the 200 s after that warm-up, and a detail line gives the joins of the
 * first minute (the window still filling).
 */
export async function estimateAccuracy(report: Report, redis: Redis, prefix: string): Promise<void> {
  const wallStart = Date.now()
  const perfStart = performance.now()
  const clock: Clock = { now: () => new Date(wallStart + (performance.now() - perfStart) * SPEED) }
  const roomTime = () => clock.now().getTime()
  const roomPrefix = `${prefix}:estimate`
  const store = new RedisWaitingRoomStore(REDIS_URL, roomPrefix)
  const room = new WaitingRoom({ store, settings: { activeCapacity: CAPACITY, activeTtlMs: 86_400_000, waitingIdleMs: 86_400_000, admitIntervalMs: 1_000 }, clock, logger: silentLogger })
  const concertId = randomUUID()
  const keys = roomKeys(roomPrefix, concertId)
  const members = new Map<string, string>()
  const joins: Array<{ token: string; at: number; estimate: number | null; position: number | null }> = []
  const join = async () => {
    const member = randomUUID()
    const at = roomTime()
    const { view } = await room.join(concertId, member)
    members.set(view.token, member)
    if (view.status === 'WAITING') joins.push({ token: view.token, at, estimate: view.estimatedWaitSeconds, position: view.position })
  }
  room.start()
  try {
    for (let i = 0; i < CAPACITY + LINE; i += 50) await Promise.all(Array.from({ length: 50 }, join))
    joins.length = 0 // the initial line joined before anyone was admitted: no estimate
    const random = seededRandom(24)
    const gap = () => (-Math.log(1 - random()) / PER_SECOND) * 1000 // exponential, room ms
    const steadyFrom = roomTime()
    const joinsUntil = steadyFrom + (WARM_UP_S + MEASURED_S) * 1000
    let nextJoin = steadyFrom + gap()
    let nextLeave = steadyFrom + gap()
    const running: Promise<unknown>[] = []
    let failure: unknown
    const track = (work: Promise<unknown>) => running.push(work.catch((error: unknown) => (failure ??= error)))
    const measured = () => joins.filter((j) => j.at >= steadyFrom + WARM_UP_S * 1000)
    const allAdmitted = async () => {
      const pending = measured()
      const pipeline = redis.pipeline()
      for (const j of pending) pipeline.zscore(keys.activated, j.token)
      return ((await pipeline.exec()) ?? []).every(([, score]) => score !== null)
    }
    let checked = 0
    for (;;) {
      const now = roomTime()
      while (nextJoin <= now && nextJoin < joinsUntil) {
        track(join())
        nextJoin += gap()
      }
      while (nextLeave <= now) {
        track(redis.zrandmember(keys.active).then((token) => (token ? room.leave(token, members.get(token)!) : undefined)))
        nextLeave += gap()
      }
      if (now >= joinsUntil && performance.now() - checked > 500) {
        checked = performance.now()
        if (await allAdmitted()) break
      }
      if (failure) throw failure
      await sleep(2)
    }
    await Promise.all(running)
    if (failure) throw failure
    const activated = await redis.zrange(keys.activated, '0', '-1', 'WITHSCORES')
    const admittedAt = new Map<string, number>()
    for (let i = 0; i < activated.length; i += 2) admittedAt.set(activated[i]!, Number(activated[i + 1]))
    const errors = (from: number, to: number) =>
      joins
        .filter((j) => j.at >= steadyFrom + from * 1000 && j.at < steadyFrom + to * 1000 && j.estimate !== null && admittedAt.has(j.token))
        .map((j) => {
          const actual = (admittedAt.get(j.token)! - j.at) / 1000
          return { error: Math.abs(j.estimate! - actual) / actual, signed: (j.estimate! - actual) / actual, actual }
        })
    const steady = errors(WARM_UP_S, WARM_UP_S + MEASURED_S)
    const d = distribution(steady.map((e) => e.error))
    report.add({
      id: '24',
      figure: `estimated wait at join vs actual wait until ACTIVE, |estimate − actual| / actual, p90 (capacity ${CAPACITY}, ~${PER_SECOND} leaves and joins/s, after a ${WARM_UP_S}-s warm-up)`,
      value: `p90 ${pct(d.p90)} (p50 ${pct(d.p50)})`,
      goal: '≤ 20 % at p90',
      met: d.p90 <= 0.2,
    })
    const bias = distribution(steady.map((e) => e.signed))
    const cold = errors(0, 60)
    const coldD = distribution(cold.map((e) => e.error))
    const coldBias = distribution(cold.map((e) => e.signed))
    report.detail(
      `24: ${steady.length} joins measured, waits p50 ${distribution(steady.map((e) => e.actual)).p50.toFixed(0)} s, signed error p50 ${pct(bias.p50)}; ` +
        `joins in the first minute of admissions (window filling): ${cold.length}, |error| p50 ${pct(coldD.p50)}, p90 ${pct(coldD.p90)}, signed p50 ${pct(coldBias.p50)}; ` +
        `room clock ${SPEED}× the wall clock (${((performance.now() - perfStart) / 1000).toFixed(0)} s of wall time)`,
    )
  } finally {
    await room.stop()
    store.close()
  }
}
