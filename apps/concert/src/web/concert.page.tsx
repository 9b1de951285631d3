import { ButtonForm, loginPath } from '@tidings/board'
import type { ListedConcert } from './api-types'
import { PerformanceList } from './performance-list'

/** One concert: its performances, and the way in — the queue (members only: the queue is per member). */
export function ConcertPage({ concert, signedIn, now }: { concert: ListedConcert; signedIn: boolean; now: Date }) {
  const path = `/concerts/${concert.concertId}`
  return (
    <>
      <p>
        <a href="/concerts">All concerts</a>
      </p>
      <h1>{concert.title}</h1>
      <PerformanceList concert={concert} now={now} />
      {signedIn ? (
        <>
          <p>Seats are booked in turns: join the queue, and this site tells you when it is yours.</p>
          <ButtonForm action={`${path}/queue`} label="Join the queue" />
        </>
      ) : (
        <p>
          <a href={loginPath(path)}>Log in</a> to join the queue for this concert.
        </p>
      )}
    </>
  )
}
