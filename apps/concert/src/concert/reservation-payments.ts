import type { Clock, Envelope } from '@tidings/core'
import { cancelling, reactor, runWrites, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { PAYMENT_COMMANDS, PAYMENT_REPLIES, PAYMENT_SOURCE, type ConfirmReservation, type WithdrawConfirmation } from '../payment/payment.contracts'
import { MarkedPayments } from '../payment-marks'
import { confirm, withdraw, type RefusalReason, type Reservation } from './reservation'
import type { ReservationRepository } from './reservation.repository'
import { holdExpiryId } from './hold-expiry'

/**
 * The concert service's part in the payment saga. A confirmation sells the held seat to its payer (its
 * event, `ReservationConfirmed`, is the reply) or is refused with its reason; a withdrawal frees the seat
 * if that payment had confirmed it and refuses its confirmation should it still come.
 *
 * A page of commands reads its reservations (locked) and withdrawn payments in one statement each, applies
 * the commands in order to what it read (each sees what the ones before it did), and writes the
 * reservations, their seats and counts, the holds' timers it cancels and the new withdrawals in one.
 */
export function reservationPayments(uow: UnitOfWork, schema: string, reservations: ReservationRepository, clock: Clock) {
  const refused = (tx: CommandTx, command: ConfirmReservation, reason: RefusalReason) =>
    tx.record({ type: PAYMENT_REPLIES.confirmationRefused, key: command.reservationId, data: { paymentId: command.paymentId, reason } })

  function onConfirm(tx: CommandTx, page: ReservationPage, command: ConfirmReservation): void {
    const reservation = page.reservations.get(command.reservationId)
    if (!reservation || page.withdrawn.has(command.paymentId)) return refused(tx, command, 'RESERVATION_NOT_HELD')
    const decision = confirm(reservation, command.memberId, command.paymentId, clock.now())
    if (typeof decision === 'string') return refused(tx, command, decision)
    if (decision.events.length === 0) {
      // Confirmed by this payment already: say so again.
      return tx.record({ type: PAYMENT_REPLIES.confirmed, key: reservation.reservationId, data: reservation })
    }
    page.reservations.set(reservation.reservationId, decision.state)
    page.expiriesCanceled.push(holdExpiryId(reservation.reservationId))
    tx.record(...decision.events)
  }

  function onWithdraw(tx: CommandTx, page: ReservationPage, command: WithdrawConfirmation): void {
    page.withdrawn.mark(command.paymentId)
    const reservation = page.reservations.get(command.reservationId)
    const decision = reservation && withdraw(reservation, command.paymentId)
    if (decision) {
      page.reservations.set(decision.state.reservationId, decision.state)
      tx.record(...decision.events)
    }
    tx.record({ type: PAYMENT_REPLIES.withdrawn, key: command.reservationId, data: { paymentId: command.paymentId } })
  }

  return reactor(uow, {
    name: 'concert.reservation-payments',
    follows: [PAYMENT_SOURCE],
    page: {
      async open(q, messages) {
        const commands = messages.filter((m) => m.type === PAYMENT_COMMANDS.confirm || m.type === PAYMENT_COMMANDS.withdraw).map((m) => m.data as ConfirmReservation | WithdrawConfirmation)
        if (commands.length === 0) return new ReservationPage([], new MarkedPayments())
        const ids = (pick: (c: (typeof commands)[number]) => string) => [...new Set(commands.map(pick))]
        return new ReservationPage(await reservations.lockAll(q, ids((c) => c.reservationId)), await reservations.withdrawn.read(q, ids((c) => c.paymentId)))
      },
      close: (q, page) => runWrites(q, [...reservations.saving(page.changes()), ...cancelling(schema, page.expiriesCanceled), ...reservations.withdrawn.writing(page.withdrawn)]),
    },
    async react(tx, message: Envelope, page) {
      if (message.type === PAYMENT_COMMANDS.confirm) return onConfirm(tx, page, message.data as ConfirmReservation)
      if (message.type === PAYMENT_COMMANDS.withdraw) return onWithdraw(tx, page, message.data as WithdrawConfirmation)
    },
  })
}

/** What a page of commands read, as its commands so far have left it. */
class ReservationPage {
  private readonly before: Map<string, Reservation>
  /** Each reservation as the page's commands so far left it. */
  readonly reservations: Map<string, Reservation>
  readonly expiriesCanceled: string[] = []

  constructor(
    locked: readonly Reservation[],
    readonly withdrawn: MarkedPayments,
  ) {
    this.before = new Map(locked.map((r) => [r.reservationId, r]))
    this.reservations = new Map(this.before)
  }

  /** Every reservation the page changed, from what it read to what it is now. */
  changes(): Array<{ before: Reservation; after: Reservation }> {
    return [...this.before].filter(([id, before]) => this.reservations.get(id) !== before).map(([id, before]) => ({ before, after: this.reservations.get(id)! }))
  }
}
