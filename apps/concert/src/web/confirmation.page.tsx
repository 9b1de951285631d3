import type { ListedConcert, ListedPerformance, ReservationView } from './api-types'
import { ReservationFacts } from './reservation.page'

/** A paid seat: the reservation as the concert service has it, CONFIRMED. */
export function ConfirmationPage({ concert, performance, reservation }: { concert: ListedConcert; performance: ListedPerformance | undefined; reservation: ReservationView }) {
  return (
    <>
      <h1>Your seat is booked</h1>
      <p role="status">
        Seat {String(reservation.seatNo)} is yours: the payment went through and the reservation is confirmed.
      </p>
      <ReservationFacts concert={concert} performance={performance} reservation={reservation} />
      <p>
        <a href="/concerts">Back to the concerts</a>
      </p>
    </>
  )
}
