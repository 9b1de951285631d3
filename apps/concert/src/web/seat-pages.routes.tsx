import { Hono, type Context } from 'hono'
import { type ApiProblem, formFields, formGuard, isId, webOf, type WebRequest } from '@tidings/board'
import { NO_STORE } from '@tidings/http'
import type { ListedConcert, ListedPerformance, ReservationView, SeatView } from './api-types'
import { wordsFor } from './concert-words'
import { type ConcertWebDeps, concertOf, NO_CONCERT, notFound, refused, status, visitApi } from './concert-web-request'
import { turnOf } from './queue-turn'
import { SeatMapPage } from './seat-map.page'

const NO_PERFORMANCE = 'There is no such performance of this concert.'
/** A seat number as a form sends it; which numbers exist is the API's to say. */
const SEAT_NO = /^[0-9]{1,9}$/

type Found = { concert: ListedConcert; performance: ListedPerformance }

/** A performance's seat map for a member whose turn it is, the seats as JSON for its script, and holding a seat. */
export function seatPages(deps: ConcertWebDeps): Hono {
  const routes = new Hono()

  routes.get('/concerts/:concertId/performances/:performanceId', async (c) => {
    const web = webOf(c, deps)
    await web.member()
    const found = await performanceOf(web, c.req.param('concertId'), c.req.param('performanceId'))
    if ('problem' in found) return refused(web, found.problem, found.problem.detail)
    return seatMap(c, web, deps, found)
  })

  routes.post('/concerts/:concertId/performances/:performanceId/holds', formGuard(), async (c) => {
    const web = webOf(c, deps)
    await web.member()
    const found = await performanceOf(web, c.req.param('concertId'), c.req.param('performanceId'))
    if ('problem' in found) return refused(web, found.problem, found.problem.detail)
    const fields = await formFields(c, ['seatNo'])
    if (!fields || !SEAT_NO.test(fields.seatNo)) return seatMap(c, web, deps, found, 'Please pick a seat from the map.', 400)
    const turn = await turnOf(c, web, deps, found.concert.concertId)
    if (!turn.active) return c.redirect(turn.goTo, 303)
    const body = { performanceId: found.performance.performanceId, seatNo: Number(fields.seatNo) }
    const held = await visitApi(c, deps, { queueToken: turn.token }).call<ReservationView>('POST', '/api/reservations', { auth: 'required', body })
    if (held.ok) return c.redirect(`/concerts/${found.concert.concertId}/reservations/${held.body.reservationId}`, 303)
    return seatMap(c, web, deps, found, wordsFor(held.problem), held.status)
  })

  // For the seat map's script: the page's own origin and session, so it needs neither the member's token nor CORS.
  routes.get('/concerts/:concertId/performances/:performanceId/seats.json', async (c) => {
    const web = webOf(c, deps)
    const performanceId = c.req.param('performanceId')
    const token = deps.queue.token(c)
    if (!web.api.hasSession) return c.json({ detail: 'You are no longer logged in. Reload the page to log in again.' }, 401, NO_STORE)
    if (!isId(performanceId)) return c.json({ detail: NO_PERFORMANCE }, 404, NO_STORE)
    if (token === undefined) return c.json({ detail: wordsFor({ status: 403, code: 'QUEUE_TOKEN_NOT_ACTIVE', detail: '' }).detail }, 403, NO_STORE)
    const seats = await visitApi(c, deps, { queueToken: token }).call<{ seats: SeatView[] }>('GET', `/api/performances/${performanceId}/seats`, { auth: 'optional' })
    if (!seats.ok) return c.json({ detail: wordsFor(seats.problem).detail }, status(seats.status), NO_STORE)
    return c.json({ seats: seats.body.seats.map(({ seatNo, status }) => ({ seatNo, status })) }, 200, NO_STORE)
  })

  return routes
}

/** The concert and its performance, or why there is none to show (an id that is not one is not found either). */
async function performanceOf(web: WebRequest, concertId: string, performanceId: string): Promise<Found | { problem: ApiProblem }> {
  const concert = await concertOf(web, concertId)
  if (!concert.ok) return { problem: { ...concert.problem, detail: concert.status === 404 ? NO_CONCERT : concert.problem.detail } }
  const performance = concert.body.performances.find((p) => p.performanceId === performanceId.toLowerCase())
  return performance ? { concert: concert.body, performance } : { problem: notFound(NO_PERFORMANCE) }
}

/** The seat map, perhaps with why a hold was refused; the queue page instead when it is not the member's turn. */
async function seatMap(c: Context, web: WebRequest, deps: ConcertWebDeps, found: Found, problem?: ApiProblem | string, code = 200): Promise<Response> {
  const turn = await turnOf(c, web, deps, found.concert.concertId)
  if (!turn.active) return c.redirect(turn.goTo, 303)
  const seats = await visitApi(c, deps, { queueToken: turn.token }).call<{ seats: SeatView[] }>('GET', `/api/performances/${found.performance.performanceId}/seats`, { auth: 'required' })
  // The turn ended between the two reads: the queue page says so.
  if (!seats.ok && seats.status === 403) return c.redirect(`/concerts/${found.concert.concertId}/queue`, 303)
  if (!seats.ok) return refused(web, seats.problem)
  const page = <SeatMapPage concert={found.concert} performance={found.performance} seats={seats.body.seats} activeUntil={turn.view.activeUntil} problem={problem} />
  return web.render({ title: `Seats · ${found.concert.title}` }, page, status(code))
}
