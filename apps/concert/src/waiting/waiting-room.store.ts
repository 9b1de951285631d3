import type { Queryable } from '@tidings/postgres'
import type { QueueToken } from './waiting-room'

/**
 * Where a waiting room keeps its tokens: the application's database (`PgWaitingRoomStore`) or Redis. Every
 * operation that must see one state of a concert's room (joining once, admitting up to the capacity) is
 * atomic in the store.
 */
export interface WaitingRoomStore {
  /** The member's live token for the concert, made (WAITING, last in line) if there is none. */
  join(concertId: string, memberId: string, token: string, now: Date): Promise<{ token: QueueToken; created: boolean }>
  find(token: string): Promise<QueueToken | undefined>
  /** 1-based, among the concert's WAITING tokens, in arrival order. */
  position(token: QueueToken): Promise<number>
  /** These holders were present (a poll, an open connection) by `now`: their WAITING tokens do not go idle. */
  seen(tokens: readonly string[], now: Date): Promise<void>
  /** The holder leaves: a live token ends (EXPIRED). False when it was not live. */
  leave(token: string, now: Date): Promise<boolean>
  /**
   * The member's ACTIVE token for the concert, admitted by `paidAt`, ends COMPLETED (their payment went
   * through; one admitted later is another visit); in the caller's transaction when the store is its database.
   */
  complete(concertId: string, memberId: string, paidAt: Date, now: Date, via?: Queryable): Promise<boolean>
  /** Ends ACTIVE tokens past their time and WAITING ones neither joined nor seen since `idleBefore`; the concerts where places freed. */
  sweep(now: Date, idleBefore: Date): Promise<string[]>
  /** Makes the next WAITING tokens ACTIVE (until `activeUntil`) while fewer than `capacity` are: those admitted. */
  admit(concertId: string, capacity: number, now: Date, activeUntil: Date): Promise<QueueToken[]>
  /** Admissions per second over the last `windowMs`. */
  admittedPerSecond(concertId: string, now: Date, windowMs: number): Promise<number>
  /** The concerts with anyone WAITING (the tick admits there). */
  concertsWaiting(): Promise<string[]>
}
