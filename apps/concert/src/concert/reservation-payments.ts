import type { Clock, Envelope } from '@tidings/core'
import { cancelScheduled, reactor, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { PAYMENT_COMMANDS, PAYMENT_REPLIES, PAYMENT_SOURCE, type ConfirmReservation, type WithdrawConfirmation } from '../payment/payment.contracts'
import { confirm, withdraw, type RefusalReason } from './reservation'
import type { ReservationRepository } from './reservation.repository'
import { holdExpiryId } from './hold-expiry'

/**
 * The concert service's part in the payment saga. A confirmation sells the held seat to its payer (its
 * event, `ReservationConfirmed`, is the reply) or is refused with its reason; a withdrawal frees the seat
 * if that payment had confirmed it and refuses its confirmation should it still come.
 */
export function reservationPayments(uow: UnitOfWork, schema: string, reservations: ReservationRepository, clock: Clock) {
  const refused = (tx: CommandTx, command: ConfirmReservation, reason: RefusalReason) =>
    tx.record({ type: PAYMENT_REPLIES.confirmationRefused, key: command.reservationId, data: { paymentId: command.paymentId, reason } })

  async function onConfirm(tx: CommandTx, command: ConfirmReservation): Promise<void> {
    const reservation = await reservations.forUpdate(tx, command.reservationId)
    if (!reservation || (await reservations.paymentWithdrawn(tx, command.paymentId))) return refused(tx, command, 'RESERVATION_NOT_HELD')
    const decision = confirm(reservation, command.memberId, command.paymentId, clock.now())
    if (typeof decision === 'string') return refused(tx, command, decision)
    if (decision.events.length === 0) {
      // Confirmed by this payment already: say so again.
      return tx.record({ type: PAYMENT_REPLIES.confirmed, key: reservation.reservationId, data: reservation })
    }
    await reservations.save(tx, reservation, decision.state)
    await cancelScheduled(tx, schema, holdExpiryId(reservation.reservationId))
    tx.record(...decision.events)
  }

  async function onWithdraw(tx: CommandTx, command: WithdrawConfirmation): Promise<void> {
    await reservations.withdrawPayment(tx, command.paymentId)
    const reservation = await reservations.forUpdate(tx, command.reservationId)
    const decision = reservation && withdraw(reservation, command.paymentId)
    if (reservation && decision) {
      await reservations.save(tx, reservation, decision.state)
      tx.record(...decision.events)
    }
    tx.record({ type: PAYMENT_REPLIES.withdrawn, key: command.reservationId, data: { paymentId: command.paymentId } })
  }

  return reactor(uow, {
    name: 'concert.reservation-payments',
    follows: [PAYMENT_SOURCE],
    async react(tx, message: Envelope) {
      if (message.type === PAYMENT_COMMANDS.confirm) return onConfirm(tx, message.data as ConfirmReservation)
      if (message.type === PAYMENT_COMMANDS.withdraw) return onWithdraw(tx, message.data as WithdrawConfirmation)
    },
  })
}
