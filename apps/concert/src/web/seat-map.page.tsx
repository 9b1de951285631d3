import { Alert, type ApiProblem, formatTime, Time } from '@tidings/board'
import type { ListedConcert, ListedPerformance, SeatView } from './api-types'
import { formatAmount } from './concert-words'

/** Wide enough for four digits, and wrapping to the screen: a phone shows five across, a desktop ten. */
const GRID = 'display:grid;grid-template-columns:repeat(auto-fill,minmax(4.5rem,1fr));gap:.5rem;margin:.5rem 0'
const TAKEN = 'text-decoration:line-through'

export interface SeatMapProps {
  concert: ListedConcert
  performance: ListedPerformance
  seats: SeatView[]
  activeUntil: string | null
  problem?: ApiProblem | string | undefined
}

/**
 * A performance's seats, each a button that holds it (one press, and the next page asks for the payment):
 * free ones pressable, taken ones disabled and struck through, said as "taken" to a screen reader. The
 * script asks for the seats every two seconds and updates the buttons in place.
 */
export function SeatMapPage({ concert, performance, seats, activeUntil, problem }: SeatMapProps) {
  const path = `/concerts/${concert.concertId}`
  const free = seats.filter((s) => s.status === 'AVAILABLE').length
  return (
    <>
      <p>
        <a href={`${path}/queue`}>Back to the queue</a>
      </p>
      <h1>{concert.title}</h1>
      <p>
        <Time at={performance.startsAt} /> · {formatAmount(performance.price)} a seat
        {activeUntil && ` · your turn lasts until ${formatTime(activeUntil)}`}
      </p>
      <Alert problem={problem} />
      <div role="alert" data-seats-problem=""></div>
      <form method="post" action={`${path}/performances/${performance.performanceId}/holds`} data-seats-url={`${path}/performances/${performance.performanceId}/seats.json`}>
        <fieldset>
          <legend>Pick a seat to hold it while you pay</legend>
          <p role="status" data-seats-free="" tabindex={-1}>
            {seatsFree(free, seats.length)}
          </p>
          <div style={GRID}>
            {seats.map((seat) => (
              <SeatButton seat={seat} />
            ))}
          </div>
        </fieldset>
      </form>
      <script type="module" src="/assets/concert.js"></script>
    </>
  )
}

/** Also the script's words (assets/concert.js). */
const seatsFree = (free: number, all: number) => `${free} of ${all} seats free`

function SeatButton({ seat }: { seat: SeatView }) {
  const taken = seat.status !== 'AVAILABLE'
  return (
    <button type="submit" name="seatNo" value={String(seat.seatNo)} data-seat={String(seat.seatNo)} disabled={taken} class={taken ? 'secondary' : undefined} style={taken ? TAKEN : undefined}>
      <span class="sr-only">Seat </span>
      {String(seat.seatNo)}
      <span class="sr-only" data-taken="" hidden={!taken}>
        {' '}
        (taken)
      </span>
    </button>
  )
}
