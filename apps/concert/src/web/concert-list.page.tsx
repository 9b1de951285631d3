import { loginPath } from '@tidings/board'
import type { ListedConcert } from './api-types'
import { PerformanceList } from './performance-list'

/** The concerts still to come, each with its performances; guests are told to log in before they can book. */
export function ConcertListPage({ concerts, signedIn, later, now }: { concerts: ListedConcert[]; signedIn: boolean; later: string | null; now: Date }) {
  return (
    <>
      <h1>Concerts</h1>
      {!signedIn && (
        <p>
          <a href={loginPath('/concerts')}>Log in</a> to join a concert's queue and book seats.
        </p>
      )}
      {concerts.length === 0 && <p>No concerts are scheduled yet.</p>}
      <ul class="items">
        {concerts.map((concert) => (
          <li>
            <h2>
              <a href={`/concerts/${concert.concertId}`}>{concert.title}</a>
            </h2>
            <PerformanceList concert={concert} now={now} />
          </li>
        ))}
      </ul>
      {later && (
        <p>
          <a href={`/concerts?after=${later}`}>Later concerts</a>
        </p>
      )}
    </>
  )
}
