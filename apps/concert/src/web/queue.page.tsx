import { ButtonForm, formatTime, Time } from '@tidings/board'
import type { ListedConcert, QueueView } from './api-types'
import { waitText } from './concert-words'

/** What the page shows for a status; a member who joined before sales opened waits without a position. */
export const stateOf = (view: QueueView): string => (view.status === 'WAITING' && view.position === null ? 'PRESALE' : view.status)

/**
 * The member's place in a concert's queue. Every state's words are on the page, the current one shown: the
 * script (assets/concert.js) only switches between them and fills in the numbers as the waiting room
 * reports changes, inside one polite live region, so a screen reader hears each change once.
 */
export function QueuePage({ concert, view }: { concert: ListedConcert; view: QueueView }) {
  const state = stateOf(view)
  const path = `/concerts/${concert.concertId}`
  const shown = (...states: string[]) => ({ 'data-when': states.join(' '), hidden: !states.includes(state) })
  return (
    <>
      <p>
        <a href={path}>{concert.title}</a>
      </p>
      <h1>Your place in the queue</h1>
      <section data-queue-token={view.token}>
        <div role="status" aria-live="polite" aria-atomic="true">
          <p {...shown('WAITING')}>
            You are number <strong data-field="position">{String(view.position ?? '')}</strong> in line. <span data-field="wait">{waitText(view.estimatedWaitSeconds)}</span>
          </p>
          <p {...shown('PRESALE')}>Sales have not opened yet. When they do, everyone who joined before then gets a place in line, in a random order.</p>
          <p {...shown('ACTIVE')}>
            It is your turn! You can book seats until <span data-field="activeUntil">{view.activeUntil ? formatTime(view.activeUntil) : ''}</span>.
          </p>
          <p {...shown('EXPIRED')}>Your turn in the queue has ended.</p>
          <p {...shown('COMPLETED')}>You have paid: your turn in the queue is complete.</p>
        </div>
        <div role="alert" data-queue-problem=""></div>
        <div {...shown('ACTIVE')}>
          <h2>Pick a performance</h2>
          <ul>
            {concert.performances.map((p) => (
              <li>
                <a href={`${path}/performances/${p.performanceId}`}>
                  Seats for <Time at={p.startsAt} />
                </a>
              </li>
            ))}
          </ul>
        </div>
        <div {...shown('EXPIRED', 'COMPLETED')}>
          <ButtonForm action={`${path}/queue`} label="Join the queue again" />
        </div>
        <div {...shown('WAITING', 'PRESALE', 'ACTIVE')}>
          <ButtonForm action={`${path}/queue/leave`} label="Leave the queue" secondary />
        </div>
      </section>
      <script type="module" src="/assets/concert.js"></script>
    </>
  )
}
