import { Alert, type ApiProblem, ButtonForm, Field, Time } from '@tidings/board'
import type { ListedConcert, ListedPerformance, ReservationView } from './api-types'
import { formatAmount } from './concert-words'

export interface ReservationPageProps {
  concert: ListedConcert
  performance: ListedPerformance | undefined
  reservation: ReservationView
  balance: number
  /**
   * Made for this rendering of the page, sent back by its form: pressing Pay twice, or resending the
   * form after a lost answer, is one payment (the API answers the same key with the same payment).
   */
  keys: { payment: string; charge: string }
  problem?: ApiProblem | string | undefined
}

/** A seat held for the member: the wallet, charging it, paying for the seat, or giving it back. */
export function ReservationPage({ concert, performance, reservation, balance, keys, problem }: ReservationPageProps) {
  const path = `/concerts/${concert.concertId}/reservations/${reservation.reservationId}`
  const seats = `/concerts/${concert.concertId}/performances/${reservation.performanceId}`
  const held = reservation.status === 'HELD'
  const short = Math.max(reservation.price - balance, 0)
  return (
    <>
      <p>
        <a href={seats}>Back to the seats</a>
      </p>
      <h1>{held ? `Seat ${reservation.seatNo} is held for you` : `Seat ${reservation.seatNo} is no longer held`}</h1>
      <ReservationFacts concert={concert} performance={performance} reservation={reservation} />
      <Alert problem={problem} />
      {held ? (
        <>
          <p>
            Pay before <Time at={reservation.holdExpiresAt} />, or the seat goes back on sale.
          </p>
          <section aria-labelledby="wallet">
            <h2 id="wallet">Your wallet</h2>
            <p>
              It holds <strong data-balance="">{formatAmount(balance)}</strong>.{short > 0 && ` You need ${formatAmount(short)} more for this seat.`}
            </p>
            <form method="post" action={`${path}/charge`}>
              <input type="hidden" name="idempotencyKey" value={keys.charge} />
              <Field label="Amount to add" name="amount" type="text" value={short > 0 ? String(short) : ''} />
              <button type="submit" class="secondary">
                Charge wallet
              </button>
            </form>
          </section>
          <section aria-labelledby="pay">
            <h2 id="pay">Payment</h2>
            <form method="post" action={`${path}/payment`}>
              <input type="hidden" name="idempotencyKey" value={keys.payment} />
              <button type="submit">Pay {formatAmount(reservation.price)}</button>
            </form>
            <div class="actions">
              <ButtonForm action={`${path}/cancel`} label="Give the seat back" secondary />
            </div>
          </section>
        </>
      ) : (
        <p>
          This hold is {reservation.status.toLowerCase()}. <a href={seats}>Pick a seat again</a>.
        </p>
      )}
    </>
  )
}

/** What was booked: the concert, the performance, the seat and its price, and the reservation's status. */
export function ReservationFacts({ concert, performance, reservation }: { concert: ListedConcert; performance: ListedPerformance | undefined; reservation: ReservationView }) {
  return (
    <dl>
      <dt>Concert</dt>
      <dd>{concert.title}</dd>
      {performance && (
        <>
          <dt>Performance</dt>
          <dd>
            <Time at={performance.startsAt} />
          </dd>
        </>
      )}
      <dt>Seat</dt>
      <dd data-seat-no="">{String(reservation.seatNo)}</dd>
      <dt>Price</dt>
      <dd data-price="">{formatAmount(reservation.price)}</dd>
      <dt>Status</dt>
      <dd data-status="">{reservation.status}</dd>
    </dl>
  )
}
