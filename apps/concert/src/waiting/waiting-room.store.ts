import type { Queryable } from '@tidings/postgres'
import type { QueueToken } from './waiting-room'

/** A token and where it stands, read at once: 1-based in line while WAITING, null in the pre-queue, 0 once it is not waiting. */
export interface Standing {
  token: QueueToken
  position: number | null
}

/**
 * Where a waiting room keeps its tokens: the application's database (`PgWaitingRoomStore`) or Redis. Every
 * operation that must see one state of a concert's room (joining once, admitting up to the capacity) is
 * atomic in the store.
 */
export interface WaitingRoomStore {
  /**
   * The member's live token for the concert, made (WAITING, last in line) if there is none; with
   * `preQueue` (sales not open yet) made without a place, until `openLine` gives it one; where it stands.
   */
  join(concertId: string, memberId: string, token: string, now: Date, preQueue?: boolean): Promise<Standing & { created: boolean }>
  find(token: string): Promise<QueueToken | undefined>
  /** The token and its position in one read (so the two agree); undefined when there is no such token. */
  standing(token: string): Promise<Standing | undefined>
  /**
   * Where these tokens of the concert stand, in one read for them all (the channel's push): for each still
   * WAITING, its 1-based position, or null in the pre-queue; the others are left out.
   */
  lineOf(concertId: string, tokens: readonly string[]): Promise<Map<string, number | null>>
  /** The tokens in the concert's pre-queue (joined before sales opened). */
  preQueued(concertId: string): Promise<string[]>
  /** Puts the pre-queue in line in `order`, ahead of everyone who joined since; tokens no longer pre-queued are skipped. */
  openLine(concertId: string, order: readonly string[]): Promise<void>
  /** These holders of the concert's tokens were present (a poll, an open connection) by `now`: their WAITING tokens do not go idle. */
  seen(concertId: string, tokens: readonly string[], now: Date): Promise<void>
  /** The holder leaves: a live token ends (EXPIRED). False when it was not live. */
  leave(token: string, now: Date): Promise<boolean>
  /**
   * The member's ACTIVE token for the concert, admitted by `paidAt`, ends COMPLETED (their payment went
   * through; one admitted later is another visit); in the caller's transaction when the store is its database.
   */
  complete(concertId: string, memberId: string, paidAt: Date, now: Date, via?: Queryable): Promise<boolean>
  /**
   * Ends ACTIVE tokens past their time and WAITING ones neither joined nor seen since `idleBefore`: the
   * concerts where places freed, and when the first ACTIVE token left ends (null: none is).
   */
  sweep(now: Date, idleBefore: Date): Promise<{ freed: string[]; nextEnd: Date | null }>
  /** Makes the next WAITING tokens ACTIVE (until `activeUntil`) while fewer than `capacity` are: those admitted. */
  admit(concertId: string, capacity: number, now: Date, activeUntil: Date): Promise<QueueToken[]>
  /** Admissions per second over the last `windowMs`. */
  admittedPerSecond(concertId: string, now: Date, windowMs: number): Promise<number>
  /** The concerts with anyone WAITING, in line or pre-queued (the tick admits there). */
  concertsWaiting(): Promise<string[]>
}
