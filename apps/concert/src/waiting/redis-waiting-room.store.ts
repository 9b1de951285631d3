import { CallBatches } from '@tidings/core'
import { attempt, commandConnection } from '@tidings/redis'
import type { QueueStatus } from './waiting-room'
import type { Standing, WaitingRoomStore } from './waiting-room.store'
import { ADMIT, COMPLETE, JOIN, LEAVE, LINE_OF, OPEN_LINE, STANDING_OF, SWEEP, WAITING_CONCERTS } from './redis-waiting-room.scripts'

type Arg = string | number
/** A token's standing as the scripts answer it (see STANDING in the scripts). */
type StandingReply = [token: string, concert: string, member: string, status: string, seq: string, activeUntil: string, position: number]
interface WaitingRoomLink extends ReturnType<typeof commandConnection> {
  waitingJoin(...args: Arg[]): Promise<Array<string | number>>
  waitingStanding(...args: Arg[]): Promise<Array<string | number>>
  waitingLineOf(...args: Arg[]): Promise<number[]>
  waitingLeave(...args: Arg[]): Promise<number>
  waitingComplete(...args: Arg[]): Promise<number>
  waitingSweep(...args: Arg[]): Promise<string[]>
  waitingAdmit(...args: Arg[]): Promise<string[]>
  waitingConcerts(...args: Arg[]): Promise<string[]>
  waitingOpenLine(...args: Arg[]): Promise<number>
}

function standingOf(reply: StandingReply): Standing {
  const [token, concertId, memberId, status, seq, activeUntil, position] = reply
  return {
    token: { token, concertId, memberId, status: status as QueueStatus, seq: seq === '' ? null : Number(seq), activeUntil: activeUntil === '' ? null : new Date(Number(activeUntil)).toISOString() },
    position: position === -1 ? null : position,
  }
}

/** A batch's reply must have every caller's values: one misread would shift the answers of all after it. */
function answered(reply: unknown[], length: number): void {
  if (reply.length !== length) throw new Error(`The waiting room's script answered ${reply.length} values where ${length} were due`)
}

/** Tokens in one `lineOf` script or presence write at most (Redis runs nothing else meanwhile: a few ms). */
const LINE_CHUNK = 5_000

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
  private readonly joins = new CallBatches((joins: Arg[][]) => this.joinAll(joins))
  private readonly standings = new CallBatches((tokens: string[]) => this.standingsOf(tokens))

  constructor(
    url: string,
    private readonly prefix = 'tidings:waiting',
  ) {
    const redis = commandConnection(url, 'tidings:waiting-room')
    const scripts = { waitingJoin: JOIN, waitingStanding: STANDING_OF, waitingLineOf: LINE_OF, waitingLeave: LEAVE, waitingComplete: COMPLETE, waitingSweep: SWEEP, waitingAdmit: ADMIT, waitingConcerts: WAITING_CONCERTS, waitingOpenLine: OPEN_LINE }
    for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { lua, numberOfKeys: 0 })
    this.redis = redis as WaitingRoomLink
  }

  /** Joins made at about the same time go to Redis together: one script for up to 256 of them (a spike is many small writes). */
  join(concertId: string, memberId: string, token: string, now: Date, preQueue = false) {
    return this.joins.call([concertId, memberId, token, now.getTime(), preQueue ? 1 : 0])
  }

  private async joinAll(joins: Arg[][]): Promise<Array<Standing & { created: boolean }>> {
    const reply = await attempt('join a waiting room', () => this.redis.waitingJoin(this.prefix, ...joins.flat()))
    answered(reply, joins.length * 8)
    return joins.map((_, i) => ({ ...standingOf(reply.slice(i * 8, i * 8 + 7) as StandingReply), created: reply[i * 8 + 7] === 1 }))
  }

  /** Like joins, reads made at about the same time go together: one script for up to 256 tokens. */
  standing(token: string) {
    return this.standings.call(token)
  }

  private async standingsOf(tokens: string[]): Promise<Array<Standing | undefined>> {
    const reply = await attempt('read queue tokens', () => this.redis.waitingStanding(this.prefix, ...tokens))
    answered(reply, tokens.length * 7)
    return tokens.map((_, i) => (reply[i * 7] === '' ? undefined : standingOf(reply.slice(i * 7, i * 7 + 7) as StandingReply)))
  }

  async find(token: string) {
    return (await this.standing(token))?.token
  }

  /** One script per 5,000 tokens: a `ZRANK` each (then `SISMEMBER` for those not in line), logarithmic in the line's length. */
  async lineOf(concertId: string, tokens: readonly string[]) {
    const line = new Map<string, number | null>()
    for (let from = 0; from < tokens.length; from += LINE_CHUNK) {
      const chunk = tokens.slice(from, from + LINE_CHUNK)
      const positions = await attempt('read positions', () => this.redis.waitingLineOf(this.prefix, concertId, ...chunk))
      chunk.forEach((t, i) => positions[i] !== 0 && line.set(t, positions[i] === -1 ? null : positions[i]!))
    }
    return line
  }

  async preQueued(concertId: string) {
    return attempt('read a pre-queue', () => this.redis.smembers(`${this.prefix}:c:${concertId}:prequeue`))
  }

  async openLine(concertId: string, order: readonly string[]) {
    if (order.length > 0) await attempt('open a line', () => this.redis.waitingOpenLine(this.prefix, concertId, ...order))
  }

  async seen(concertId: string, tokens: readonly string[], now: Date) {
    // The presence set holds exactly the WAITING tokens (admitted and ended ones leave it): XX touches only those.
    const key = `${this.prefix}:c:${concertId}:seen`
    for (let from = 0; from < tokens.length; from += LINE_CHUNK) {
      const members = tokens.slice(from, from + LINE_CHUNK).flatMap((token) => [now.getTime(), token])
      await attempt('mark waiters present', () => this.redis.zadd(key, 'XX', 'GT', ...members))
    }
  }

  async leave(token: string, now: Date) {
    return (await attempt('leave a waiting room', () => this.redis.waitingLeave(this.prefix, token, now.getTime()))) === 1
  }

  async complete(concertId: string, memberId: string, paidAt: Date, now: Date) {
    return (await attempt('complete a queue token', () => this.redis.waitingComplete(this.prefix, concertId, memberId, paidAt.getTime(), now.getTime()))) === 1
  }

  async sweep(now: Date, idleBefore: Date) {
    const [nextEnd, ...freed] = await attempt('sweep the waiting rooms', () => this.redis.waitingSweep(this.prefix, now.getTime(), idleBefore.getTime()))
    return { freed, nextEnd: nextEnd ? new Date(Number(nextEnd)) : null }
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
