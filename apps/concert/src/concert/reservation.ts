import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'
import type { Performance } from './concert'

/**
 * A member's claim on one seat of a performance. `HELD` until its hold expires (then `EXPIRED`, the seat
 * free again), the member cancels it (`CANCELED`) or a payment confirms it (`CONFIRMED`: the seat is sold,
 * and no timer ever frees it).
 */
export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'EXPIRED' | 'CANCELED'

export interface Reservation {
  reservationId: string
  concertId: string
  performanceId: string
  seatNo: number
  memberId: string
  /** The seat's price when it was held: what a payment takes, never an amount a client sends. */
  price: number
  status: ReservationStatus
  holdExpiresAt: string
  /** The payment that confirmed it. */
  paymentId: string | null
  version: number
}

export type SeatHeld = Event<'concert.SeatHeld.v1', Reservation>
export type ReservationConfirmed = Event<'concert.ReservationConfirmed.v1', Reservation>
export type HoldExpired = Event<'concert.HoldExpired.v1', Reservation>
export type ReservationCanceled = Event<'concert.ReservationCanceled.v1', Reservation>
/** A sold seat given back by its member before the performance: its payment is owed back (the payment service refunds it). */
export type SaleCanceled = Event<'concert.SaleCanceled.v1', Reservation>
export type ReservationEvent = SeatHeld | ReservationConfirmed | HoldExpired | ReservationCanceled | SaleCanceled

/** Why a payment could not confirm a reservation: the codes its payer is answered with. */
export type RefusalReason = 'RESERVATION_EXPIRED' | 'RESERVATION_NOT_HELD'

/** The most seats one member may hold at once for one performance. */
export const MAX_HOLDS = 4

/** A performance as a hold needs it. */
export type HeldPerformance = Performance & { concertId: string }

export class PerformanceNotFound extends TidingsError {
  constructor(performanceId: string) {
    super('PERFORMANCE_NOT_FOUND', 'not_found', `No performance ${performanceId}`)
  }
}

export class SeatNotFound extends TidingsError {
  constructor(seatNo: number, seatCount: number) {
    super('SEAT_NOT_FOUND', 'not_found', `Seat ${seatNo} does not exist: this performance has seats 1 to ${seatCount}`, { seatNo, seatCount })
  }
}

export class PerformanceStarted extends TidingsError {
  constructor() {
    super('PERFORMANCE_STARTED', 'conflict', 'This performance has begun: its seats are no longer sold or given back')
  }
}

export class SeatTaken extends TidingsError {
  constructor(seatNo: number) {
    super('SEAT_TAKEN', 'conflict', `Seat ${seatNo} is held or sold`, { seatNo })
  }
}

export class HoldLimitReached extends TidingsError {
  constructor() {
    super('HOLD_LIMIT', 'conflict', `A member holds at most ${MAX_HOLDS} seats of a performance at once`)
  }
}

export class ReservationNotFound extends TidingsError {
  constructor(reservationId: string) {
    super('RESERVATION_NOT_FOUND', 'not_found', `No reservation ${reservationId}`)
  }
}

export class ReservationAlreadyCanceled extends TidingsError {
  constructor() {
    super('RESERVATION_ALREADY_CANCELED', 'conflict', 'This reservation is canceled already')
  }
}

export class ReservationNotHeld extends TidingsError {
  constructor(status: ReservationStatus) {
    super('RESERVATION_NOT_HELD', 'conflict', `This reservation is ${status}, not HELD`, { status })
  }
}

export class ReservationExpired extends TidingsError {
  constructor() {
    super('RESERVATION_EXPIRED', 'conflict', 'The hold on this seat has expired')
  }
}

/** A hold whose expiry has come, or will have by `now`, holds nothing. */
export const holdExpired = (r: Pick<Reservation, 'holdExpiresAt'>, now: Date): boolean => Date.parse(r.holdExpiresAt) <= now.getTime()

/** Holds a seat of a performance that has not begun, for `ttlMs`. Whether the seat is free is the repository's to say. */
export function hold(reservationId: string, performance: HeldPerformance, seatNo: number, memberId: string, now: Date, ttlMs: number): Decision<Reservation, SeatHeld> {
  if (!Number.isSafeInteger(seatNo) || seatNo < 1 || seatNo > performance.seatCount) throw new SeatNotFound(seatNo, performance.seatCount)
  if (Date.parse(performance.startsAt) <= now.getTime()) throw new PerformanceStarted()
  const reservation: Reservation = {
    reservationId,
    concertId: performance.concertId,
    performanceId: performance.performanceId,
    seatNo,
    memberId,
    price: performance.price,
    status: 'HELD',
    holdExpiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    paymentId: null,
    version: 1,
  }
  return decide(reservation, event<SeatHeld>('concert.SeatHeld.v1', reservationId, reservation, 1))
}

function become<E extends ReservationEvent>(type: E['type'], r: Reservation, status: ReservationStatus, paymentId = r.paymentId): Decision<Reservation, E> {
  const next: Reservation = { ...r, status, paymentId, version: r.version + 1 }
  return decide(next, event<E>(type, r.reservationId, next as E['data'], next.version))
}

/**
 * A payment confirms the hold of the member who pays, while it holds. Confirming again for the same payment
 * changes nothing (an empty decision); anything else is refused with its reason.
 */
export function confirm(r: Reservation, memberId: string, paymentId: string, now: Date): Decision<Reservation, ReservationConfirmed> | RefusalReason {
  if (r.status === 'CONFIRMED' && r.paymentId === paymentId) return decide(r)
  if (r.memberId !== memberId || r.status === 'CONFIRMED' || r.status === 'CANCELED') return 'RESERVATION_NOT_HELD'
  if (r.status === 'EXPIRED' || holdExpired(r, now)) return 'RESERVATION_EXPIRED'
  return become('concert.ReservationConfirmed.v1', r, 'CONFIRMED', paymentId)
}

/** The hold's timer: a hold past its expiry ends; anything else (confirmed, canceled, extended) is left alone. */
export function expire(r: Reservation, now: Date): Decision<Reservation, HoldExpired> | undefined {
  return r.status === 'HELD' && holdExpired(r, now) ? become('concert.HoldExpired.v1', r, 'EXPIRED') : undefined
}

/**
 * The member gives a seat back: a held one at any time, a sold one before its performance begins (its
 * payment is then refunded, `SaleCanceled`).
 */
export function cancel(r: Reservation, performanceStartsAt: string, now: Date): Decision<Reservation, ReservationCanceled | SaleCanceled> {
  if (r.status === 'CANCELED') throw new ReservationAlreadyCanceled()
  if (r.status === 'HELD') return become('concert.ReservationCanceled.v1', r, 'CANCELED')
  if (r.status !== 'CONFIRMED') throw new ReservationNotHeld(r.status)
  if (Date.parse(performanceStartsAt) <= now.getTime()) throw new PerformanceStarted()
  return become('concert.SaleCanceled.v1', r, 'CANCELED')
}

/**
 * A payment that gave up (its confirmation timed out) takes its confirmation back: the seat is free again
 * if that payment had confirmed it; otherwise nothing changes.
 */
export function withdraw(r: Reservation, paymentId: string): Decision<Reservation, ReservationCanceled> | undefined {
  return r.status === 'CONFIRMED' && r.paymentId === paymentId ? become('concert.ReservationCanceled.v1', r, 'CANCELED') : undefined
}
