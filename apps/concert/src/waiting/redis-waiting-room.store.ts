import { attempt, commandConnection } from '@tidings/redis'
import type { QueueStatus, QueueToken } from './waiting-room'
import type { WaitingRoomStore } from './waiting-room.store'
import { ADMIT, COMPLETE, JOIN, LEAVE, OPEN_LINE, SEEN, SWEEP, WAITING_CONCERTS } from './redis-waiting-room.scripts'

type Arg = string | number
interface WaitingRoomLink extends ReturnType<typeof commandConnection> {
  waitingJoin(...args: Arg[]): Promise<[string, number]>
  waitingLeave(...args: Arg[]): Promise<number>
  waitingComplete(...args: Arg[]): Promise<number>
  waitingSweep(...args: Arg[]): Promise<string[]>
  waitingAdmit(...args: Arg[]): Promise<string[]>
  waitingSeen(...args: Arg[]): Promise<number>
  waitingConcerts(...args: Arg[]): Promise<string[]>
  waitingOpenLine(...args: Arg[]): Promise<number>
}

/** Sends the commands in one round trip; the first failure among them is thrown. */
async function pipelined(redis: WaitingRoomLink, commands: string[][]): Promise<unknown[]> {
  const results = (await redis.pipeline(commands).exec()) ?? []
  return results.map(([error, value]) => {
    if (error) throw error
    return value
  })
}

/** Admissions are kept this long for the rate (longer than any window asked for). */
const ACTIVATIONS_KEPT_MS = 3_600_000

/**
 * The waiting room on Redis (`REDIS_URL`): sorted sets per concert — waiting by arrival (a counter), active
 * by the end of their time, waiters by when they were last present — a hash per token, and the member's
 * live token; joining once, admitting up to the capacity, leaving and ending are Lua scripts, so each sees
 * one state of the room. A position is a `ZRANK` (logarithmic in the line's length).
 */
export class RedisWaitingRoomStore implements WaitingRoomStore {
  private readonly redis: WaitingRoomLink

  constructor(
    url: string,
    private readonly prefix = 'tidings:waiting',
  ) {
    const redis = commandConnection(url, 'tidings:waiting-room')
    const scripts = { waitingJoin: JOIN, waitingLeave: LEAVE, waitingComplete: COMPLETE, waitingSweep: SWEEP, waitingAdmit: ADMIT, waitingSeen: SEEN, waitingConcerts: WAITING_CONCERTS, waitingOpenLine: OPEN_LINE }
    for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { lua, numberOfKeys: 0 })
    this.redis = redis as WaitingRoomLink
  }

  async join(concertId: string, memberId: string, token: string, now: Date, preQueue = false) {
    const [live, created] = await attempt('join a waiting room', () => this.redis.waitingJoin(this.prefix, concertId, memberId, token, now.getTime(), preQueue ? 1 : 0))
    return { token: (await this.find(live))!, created: created === 1 }
  }

  async find(token: string): Promise<QueueToken | undefined> {
    const h = await attempt('read a queue token', () => this.redis.hgetall(`${this.prefix}:t:${token}`))
    if (!h.concert) return undefined
    return { token, concertId: h.concert, memberId: h.member!, status: h.status as QueueStatus, seq: h.seq ? Number(h.seq) : null, activeUntil: h.activeUntil ? new Date(Number(h.activeUntil)).toISOString() : null }
  }

  async position(token: QueueToken): Promise<number | null> {
    const rank = await attempt('read a position', () => this.redis.zrank(`${this.prefix}:c:${token.concertId}:waiting`, token.token))
    if (rank !== null) return rank + 1
    const pre = await attempt('read a pre-queue', () => this.redis.sismember(`${this.prefix}:c:${token.concertId}:prequeue`, token.token))
    return pre === 1 ? null : 0
  }

  /** A pipelined `ZRANK` per token (then `SISMEMBER` for those not in line): logarithmic in the line's length each. */
  async lineOf(concertId: string, tokens: readonly string[]) {
    const line = new Map<string, number | null>()
    if (tokens.length === 0) return line
    const c = `${this.prefix}:c:${concertId}`
    const ranks = await attempt('read positions', () => pipelined(this.redis, tokens.map((t) => ['zrank', `${c}:waiting`, t])))
    const outOfLine = tokens.filter((t, i) => (ranks[i] === null ? true : (line.set(t, (ranks[i] as number) + 1), false)))
    if (outOfLine.length === 0) return line
    const pre = await attempt('read a pre-queue', () => pipelined(this.redis, outOfLine.map((t) => ['sismember', `${c}:prequeue`, t])))
    outOfLine.forEach((t, i) => pre[i] === 1 && line.set(t, null))
    return line
  }

  async preQueued(concertId: string) {
    return attempt('read a pre-queue', () => this.redis.smembers(`${this.prefix}:c:${concertId}:prequeue`))
  }

  async openLine(concertId: string, order: readonly string[]) {
    if (order.length > 0) await attempt('open a line', () => this.redis.waitingOpenLine(this.prefix, concertId, ...order))
  }

  async seen(tokens: readonly string[], now: Date) {
    if (tokens.length > 0) await attempt('mark waiters present', () => this.redis.waitingSeen(this.prefix, now.getTime(), ...tokens))
  }

  async leave(token: string, now: Date) {
    return (await attempt('leave a waiting room', () => this.redis.waitingLeave(this.prefix, token, now.getTime()))) === 1
  }

  async complete(concertId: string, memberId: string, paidAt: Date, now: Date) {
    return (await attempt('complete a queue token', () => this.redis.waitingComplete(this.prefix, concertId, memberId, paidAt.getTime(), now.getTime()))) === 1
  }

  async sweep(now: Date, idleBefore: Date) {
    return attempt('sweep the waiting rooms', () => this.redis.waitingSweep(this.prefix, now.getTime(), idleBefore.getTime()))
  }

  async admit(concertId: string, capacity: number, now: Date, activeUntil: Date) {
    const tokens = await attempt('admit from a waiting room', () =>
      this.redis.waitingAdmit(this.prefix, concertId, capacity, now.getTime(), activeUntil.getTime(), now.getTime() - ACTIVATIONS_KEPT_MS),
    )
    return (await Promise.all(tokens.map((t) => this.find(t)))).filter((t) => t !== undefined)
  }

  async admittedPerSecond(concertId: string, now: Date, windowMs: number) {
    const n = await attempt('read an admission rate', () => this.redis.zcount(`${this.prefix}:c:${concertId}:activated`, `(${now.getTime() - windowMs}`, '+inf'))
    return (n * 1000) / windowMs
  }

  async concertsWaiting() {
    return attempt('list the waiting rooms', () => this.redis.waitingConcerts(this.prefix))
  }

  close(): void {
    this.redis.disconnect()
  }
}
