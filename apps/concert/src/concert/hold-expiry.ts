import type { Clock } from '@tidings/core'
import { scheduleMessage, type CommandTx, type ScheduledHandler } from '@tidings/postgres'
import { expire, type Reservation } from './reservation'
import type { ReservationRepository } from './reservation.repository'

/** The scheduled message that ends a hold when it expires. */
export const HOLD_EXPIRY = 'concert.HoldExpiry'

export const holdExpiryId = (reservationId: string): string => `${HOLD_EXPIRY}:${reservationId}`

/** Schedules the end of a new hold, in the hold's transaction. */
export function scheduleHoldExpiry(tx: CommandTx, schema: string, r: Reservation): Promise<void> {
  return scheduleMessage(tx, schema, { id: holdExpiryId(r.reservationId), type: HOLD_EXPIRY, key: r.reservationId, data: { reservationId: r.reservationId }, dueAt: new Date(r.holdExpiresAt) })
}

/**
 * Ends a hold whose time is up: the seat is available again. A reservation that is no longer held
 * (confirmed, canceled) is left as it is: a sold seat is never freed by a timer.
 */
export function holdExpiry(reservations: ReservationRepository, clock: Clock): ScheduledHandler {
  return async (tx, message) => {
    const { reservationId } = message.data as { reservationId: string }
    const reservation = await reservations.forUpdate(tx, reservationId)
    const decision = reservation && expire(reservation, clock.now())
    if (!reservation || !decision) return
    await reservations.save(tx, reservation, decision.state)
    tx.record(...decision.events)
  }
}
