import { randomInt } from 'node:crypto'
import type { Clock, EvictionBus, Logger } from '@tidings/core'
import type { Worker } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'
import { AdmissionRates } from './admission-rates'
import type { QueuePass } from './queue-pass'
import { holderOf, QUEUE_PASSES_TOPIC, type QueuePassCache } from './queue-pass-cache'
import { newQueueToken, viewOf, type QueueToken, type QueueView, type WaitingRoomSettings } from './waiting-room'
import type { WaitingRoomStore } from './waiting-room.store'

/** The eviction bus topic of the rooms' changes (ids are concert ids): the channel pushes what they changed. */
export const ROOM_CHANGES_TOPIC = 'concert.waiting'

export interface WaitingRoomDeps {
  store: WaitingRoomStore
  settings: WaitingRoomSettings
  clock: Clock
  logger: Logger
  /** When the concert's sales open (null: they are open); members who join before wait in a pre-queue. Default: open. */
  salesOpenAt?: (concertId: string) => Promise<Date | null>
  /**
   * Told which rooms changed for someone already there (admitted, left, ended, put in line), on
   * `ROOM_CHANGES_TOPIC`; a join changes no one else's place and is not told.
   */
  changes?: EvictionBus | undefined
  /** What this process does of the room (default: all of it); see `WaitingRoomPart`. */
  parts?: ReadonlySet<WaitingRoomPart> | undefined
  /**
   * This instance's kept passes: a token ended before its time (left, paid) is dropped there at once, and
   * the other instances are told on `changes` (`QUEUE_PASSES_TOPIC`).
   */
  passes?: QueuePassCache | undefined
}

/**
 * The room's parts, which may run in one process or each in its own: `waiting` (joins, status, leaving),
 * `active` (admissions: after payments, on every tick, and whenever the room changed) and `expiration`
 * (ends tokens past their time and idle waiters). Admitting is one atomic operation of the store, so a
 * join or a leave admits at once wherever it runs; the active part is what makes sure it happens.
 */
export type WaitingRoomPart = 'waiting' | 'active' | 'expiration'
export const ALL_PARTS: ReadonlySet<WaitingRoomPart> = new Set(['waiting', 'active', 'expiration'])

/**
 * The waiting, active and expiration parts of the waiting room over one store: joining, status, leaving,
 * admission up to the capacity as soon as a place frees (a join, a leave, a payment) and on every tick
 * (which also ends tokens past their time and idle waiters, so positions count people who are there).
 */
export class WaitingRoom implements Worker {
  private readonly rates: AdmissionRates
  /** Holders seen here since the last tick, by concert: written by it in one statement per concert. */
  private present = new Map<string, Set<string>>()
  private timer?: NodeJS.Timeout
  /** A tick due before the next regular one: when the first ACTIVE token's time ends. */
  private early?: NodeJS.Timeout
  private ticking?: Promise<void>

  private readonly store: WaitingRoomStore
  private readonly settings: WaitingRoomSettings
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly salesOpenAt: (concertId: string) => Promise<Date | null>
  private readonly parts: ReadonlySet<WaitingRoomPart>
  private unfollow?: () => void

  constructor(private readonly deps: WaitingRoomDeps) {
    ;({ store: this.store, settings: this.settings, clock: this.clock, logger: this.logger } = deps)
    this.salesOpenAt = deps.salesOpenAt ?? (async () => null)
    this.rates = new AdmissionRates(this.store, this.clock)
    this.parts = deps.parts ?? ALL_PARTS
  }

  async join(concertId: string, memberId: string): Promise<{ view: QueueView; created: boolean }> {
    const opens = await this.salesOpenAt(concertId)
    const preQueue = opens !== null && opens.getTime() > this.clock.now().getTime()
    const { token, position, created } = await this.store.join(concertId, memberId, newQueueToken(), this.clock.now(), preQueue)
    const view = await this.viewOf(token, position)
    // Only one within the capacity of the head of the line can be admitted now: the rest need no admission's lock.
    if (!created || view.position === null || view.position > this.settings.activeCapacity) return { view, created }
    await this.admit(concertId)
    return { view: (await this.status(token.token))!, created }
  }

  /** The token as its holder sees it; undefined when there is none. Reading it counts as the holder being present. */
  async status(token: string): Promise<QueueView | undefined> {
    const standing = await this.store.standing(token)
    return standing && this.viewOf(standing.token, standing.position)
  }

  private async viewOf(token: QueueToken, position: number | null): Promise<QueueView> {
    if (token.status !== 'WAITING') return viewOf(token, null, 0)
    let present = this.present.get(token.concertId)
    if (!present) this.present.set(token.concertId, (present = new Set()))
    present.add(token.token)
    return viewOf(token, position, await this.rates.perSecond(token.concertId))
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
    const left = await this.store.leave(token, this.clock.now())
    this.ended([holderOf(found.concertId, memberId)])
    if (left) {
      this.changed([found.concertId])
      await this.admit(found.concertId)
    }
    return this.status(token)
  }

  /** The member's payment completed: their token is done (in the inbox's transaction); `afterPayments` once it commits. */
  async paid(concertId: string, memberId: string, paidAt: Date, via: Queryable): Promise<boolean> {
    return this.store.complete(concertId, memberId, paidAt, this.clock.now(), via)
  }

  /** These members' payments committed: their tokens are done (their passes with them), so places are free. */
  async afterPayments(paid: ReadonlyArray<{ concertId: string; memberId: string }>): Promise<void> {
    this.ended(paid.map((p) => holderOf(p.concertId, p.memberId)))
    const concertIds = [...new Set(paid.map((p) => p.concertId))]
    this.changed(concertIds)
    for (const concertId of concertIds) await this.admit(concertId)
  }

  /**
   * One tick: the holders seen since the last; end what is past its time (expiration); admit wherever
   * anyone waits (active). When an ACTIVE token's time ends before the next tick, one more tick runs as it
   * ends: its place is given out at once, not up to a tick later.
   */
  async tick(): Promise<void> {
    const now = this.clock.now()
    const seen = this.present
    this.present = new Map()
    for (const [concertId, tokens] of seen) await this.store.seen(concertId, [...tokens], now)
    const { freed, nextEnd } = this.parts.has('expiration') ? await this.store.sweep(now, new Date(now.getTime() - this.settings.waitingIdleMs)) : { freed: [], nextEnd: null }
    const untilEnd = nextEnd === null ? Infinity : nextEnd.getTime() - now.getTime()
    if (untilEnd < this.settings.admitIntervalMs && this.timer) {
      clearTimeout(this.early)
      this.early = setTimeout(() => this.runTick(), Math.max(0, untilEnd) + 1).unref()
    }
    this.changed(freed)
    if (!this.parts.has('active')) return
    const waiting = await this.store.concertsWaiting()
    for (const concertId of new Set([...freed, ...waiting])) await this.admit(concertId)
  }

  start(): void {
    // The active part runs apart from the expiration: it admits as soon as the room says places freed.
    if (this.parts.has('active') && !this.parts.has('expiration')) {
      this.unfollow ??= this.deps.changes?.subscribe(
        ROOM_CHANGES_TOPIC,
        (notice) => notice.ids.forEach((concertId) => this.admit(concertId).catch((error: unknown) => this.logger.warn({ err: error, concertId }, 'waiting room: an admission failed (the tick will admit)'))),
        () => {},
      )
    }
    this.timer ??= setInterval(() => this.runTick(), this.settings.admitIntervalMs).unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    clearTimeout(this.early)
    this.timer = undefined
    this.unfollow?.()
    this.unfollow = undefined
    await this.ticking
  }

  /** A tick, unless one is running. */
  private runTick(): void {
    this.ticking ??= this.tick()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'waiting room: a tick failed'))
      .finally(() => (this.ticking = undefined))
  }

  /** Gives the concert's free places to the next ones in line (once sales opened: the pre-queue is put in line first). */
  async admit(concertId: string): Promise<void> {
    await this.openLineIfDue(concertId)
    const now = this.clock.now()
    const admitted = await this.store.admit(concertId, this.settings.activeCapacity, now, new Date(now.getTime() + this.settings.activeTtlMs))
    if (admitted.length > 0) this.changed([concertId])
  }

  /**
   * At `salesOpenAt`, the pre-queue goes in line in a random order (so joining early, by hand or by bot,
   * gains nothing), ahead of everyone who joined since.
   */
  private async openLineIfDue(concertId: string): Promise<void> {
    const opens = await this.salesOpenAt(concertId)
    if (opens === null || opens.getTime() > this.clock.now().getTime()) return
    const preQueued = await this.store.preQueued(concertId)
    if (preQueued.length === 0) return
    await this.store.openLine(concertId, shuffled(preQueued))
    this.changed([concertId])
  }

  /** Tokens ended before their time: their passes stop passing here at once, and wherever the bus reaches. */
  private ended(holders: readonly string[]): void {
    this.deps.passes?.end(holders)
    this.deps.changes?.publish({ topic: QUEUE_PASSES_TOPIC, ids: holders }).catch((error: unknown) => this.logger.warn({ err: error, holders }, 'waiting room: ended tokens were not announced'))
  }

  /** Tells the channel (wherever it runs) which rooms changed; a notice lost is caught up by its own rounds. */
  private changed(concertIds: readonly string[]): void {
    if (concertIds.length === 0 || !this.deps.changes) return
    this.deps.changes.publish({ topic: ROOM_CHANGES_TOPIC, ids: concertIds }).catch((error: unknown) => this.logger.warn({ err: error, concertIds }, 'waiting room: a change was not announced'))
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
