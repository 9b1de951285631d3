import { Time } from '@tidings/board'
import type { ListedConcert } from './api-types'
import { formatAmount } from './concert-words'

/** A concert's performances: when, the price, and how many seats can still be held. */
export function PerformanceList({ concert, now }: { concert: ListedConcert; now: Date }) {
  const opens = concert.salesOpenAt !== null && Date.parse(concert.salesOpenAt) > now.getTime() ? concert.salesOpenAt : undefined
  return (
    <>
      {opens && (
        <p class="muted">
          Sales open <Time at={opens} />.
        </p>
      )}
      <ul>
        {concert.performances.map((p) => (
          <li>
            <Time at={p.startsAt} /> · {formatAmount(p.price)} a seat ·{' '}
            {p.availableSeats === 0 ? <strong>sold out</strong> : `${p.availableSeats} of ${p.seatCount} seats available`}
          </li>
        ))}
      </ul>
    </>
  )
}
