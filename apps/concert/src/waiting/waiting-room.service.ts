import { randomInt } from 'node:crypto'
import type { Clock, Logger } from '@tidings/core'
import type { Worker } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'
import type { QueuePass } from './queue-pass'
import { newQueueToken, viewOf, type QueueView, type WaitingRoomSettings } from './waiting-room'
import type { WaitingRoomStore } from './waiting-room.store'

/** Admission rates are measured over this window (the estimated wait divides by it). */
const RATE_WINDOW_MS = 5 * 60_000
/** A concert's admission rate is read at most this often. */
const RATE_CACHE_MS = 1_000

/**
 * The waiting, active and expiration parts of the waiting room over one store: joining, status, leaving,
 * admission up to the capacity as soon as a place frees (a join, a leave, a payment) and on every tick
 * (which also ends tokens past their time and idle waiters, so positions count people who are there).
 */
export class WaitingRoom implements Worker {
  private readonly rates = new Map<string, { perSecond: number; at: number }>()
  /** Holders seen here since the last tick, written by it in one statement. */
  private present = new Set<string>()
  private timer?: NodeJS.Timeout
  private ticking?: Promise<void>

  constructor(
    private readonly store: WaitingRoomStore,
    private readonly settings: WaitingRoomSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** When the concert's sales open (null: they are open); members who join before wait in a pre-queue. */
    private readonly salesOpenAt: (concertId: string) => Promise<Date | null> = async () => null,
  ) {}

  async join(concertId: string, memberId: string): Promise<{ view: QueueView; created: boolean }> {
    const opens = await this.salesOpenAt(concertId)
    const preQueue = opens !== null && opens.getTime() > this.clock.now().getTime()
    const { token, created } = await this.store.join(concertId, memberId, newQueueToken(), this.clock.now(), preQueue)
    if (created) await this.admit(concertId)
    return { view: (await this.status(token.token))!, created }
  }

  /** The token as its holder sees it; undefined when there is none. Reading it counts as the holder being present. */
  async status(token: string): Promise<QueueView | undefined> {
    const found = await this.store.find(token)
    if (!found) return undefined
    if (found.status !== 'WAITING') return viewOf(found, null, 0)
    this.present.add(token)
    const position = await this.store.position(found)
    // Admitted or ended since it was read: read it again.
    if (position === 0) return this.status(token)
    return viewOf(found, position, await this.admittedPerSecond(found.concertId))
  }

  /** What the concert and payment services need to know of a token. */
  async pass(token: string): Promise<QueuePass | undefined> {
    const found = await this.store.find(token)
    return found && { concertId: found.concertId, memberId: found.memberId, status: found.status, activeUntil: found.activeUntil }
  }

  /** The member leaves; undefined when the token is not theirs (or none). */
  async leave(token: string, memberId: string): Promise<QueueView | undefined> {
    const found = await this.store.find(token)
    if (!found || found.memberId !== memberId) return undefined
    if (await this.store.leave(token, this.clock.now())) await this.admit(found.concertId)
    return this.status(token)
  }

  /** The member's payment completed: their token is done (in the inbox's transaction); `admit` once it commits. */
  async paid(concertId: string, memberId: string, paidAt: Date, via: Queryable): Promise<boolean> {
    return this.store.complete(concertId, memberId, paidAt, this.clock.now(), via)
  }

  /** One tick: end what is past its time, then admit wherever anyone waits. */
  async tick(): Promise<void> {
    const now = this.clock.now()
    const seen = [...this.present]
    this.present = new Set()
    await this.store.seen(seen, now)
    const freed = await this.store.sweep(now, new Date(now.getTime() - this.settings.waitingIdleMs))
    const waiting = await this.store.concertsWaiting()
    for (const concertId of new Set([...freed, ...waiting])) await this.admit(concertId)
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.ticking ??= this.tick()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'waiting room: a tick failed'))
        .finally(() => (this.ticking = undefined))
    }, this.settings.admitIntervalMs).unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.ticking
  }

  /** Gives the concert's free places to the next ones in line (once sales opened: the pre-queue is put in line first). */
  async admit(concertId: string): Promise<void> {
    await this.openLineIfDue(concertId)
    const now = this.clock.now()
    await this.store.admit(concertId, this.settings.activeCapacity, now, new Date(now.getTime() + this.settings.activeTtlMs))
  }

  /**
   * At `salesOpenAt`, the pre-queue goes in line in a random order (so joining early, by hand or by bot,
   * gains nothing), ahead of everyone who joined since.
   */
  private async openLineIfDue(concertId: string): Promise<void> {
    const opens = await this.salesOpenAt(concertId)
    if (opens === null || opens.getTime() > this.clock.now().getTime()) return
    const preQueued = await this.store.preQueued(concertId)
    if (preQueued.length > 0) await this.store.openLine(concertId, shuffled(preQueued))
  }

  private async admittedPerSecond(concertId: string): Promise<number> {
    const cached = this.rates.get(concertId)
    const now = this.clock.now()
    if (cached && now.getTime() - cached.at < RATE_CACHE_MS) return cached.perSecond
    const perSecond = await this.store.admittedPerSecond(concertId, now, RATE_WINDOW_MS)
    this.rates.set(concertId, { perSecond, at: now.getTime() })
    return perSecond
  }
}

/** A uniformly random order (Fisher–Yates, with the system's secure randomness). */
function shuffled<T>(items: readonly T[]): T[] {
  const order = [...items]
  for (let i = order.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}
