import type { Context } from 'hono'
import type { WebRequest } from '@tidings/board'
import type { QueueView } from './api-types'
import type { ConcertWebDeps } from './concert-web-request'

export type Turn = { active: true; token: string; view: QueueView } | { active: false; goTo: string }

/**
 * Whether it is the member's turn to book seats of a concert: their queue token and its ACTIVE status, or
 * the page to go to instead — the concert page to join (no token, or one the room no longer knows), the
 * queue page to wait or see that the turn has ended.
 */
export async function turnOf(c: Context, web: WebRequest, deps: ConcertWebDeps, concertId: string): Promise<Turn> {
  const token = deps.queue.token(c)
  if (token === undefined) return { active: false, goTo: `/concerts/${concertId}` }
  const view = await web.api.call<QueueView>('GET', `/api/queue/${token}`)
  if (view.ok && view.body.status === 'ACTIVE' && view.body.concertId === concertId) return { active: true, token, view: view.body }
  if (!view.ok && view.status === 404) {
    deps.queue.forget(c, concertId)
    return { active: false, goTo: `/concerts/${concertId}` }
  }
  return { active: false, goTo: `/concerts/${concertId}/queue` }
}
