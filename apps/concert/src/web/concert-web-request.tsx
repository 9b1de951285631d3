import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type ApiProblem, type BoardApi, ErrorPage, headingOf, isId, WebApi, type WebDeps, type WebRequest } from '@tidings/board'
import type { ListedConcert } from './api-types'
import type { QueueCookie } from './queue-cookie'

/** What every concert page route needs: the board's (API, session, logger) and the queue token's cookie. */
export interface ConcertWebDeps extends WebDeps {
  queue: QueueCookie
}

/** The headers a step of a member's visit adds: their ACTIVE queue token, a payment's or a charge's key. */
export interface VisitHeaders {
  queueToken?: string
  idempotencyKey?: string
}

/**
 * The API as the board's pages call it (the session's token, signing in again on a 401, the problem read
 * from a refusal), with a visit's headers added. A route that wants a queue token is only ever called with
 * one: without, it answers 401, which the client takes for an expired session.
 */
export function visitApi(c: Context, deps: ConcertWebDeps, visit: VisitHeaders): WebApi {
  const added: Record<string, string> = {
    ...(visit.queueToken !== undefined ? { 'Queue-Token': visit.queueToken } : {}),
    ...(visit.idempotencyKey !== undefined ? { 'Idempotency-Key': visit.idempotencyKey } : {}),
  }
  const api: BoardApi = (path, init = {}, bindings) => deps.api(path, { ...init, headers: { ...(init.headers as Record<string, string>), ...added } }, bindings)
  return new WebApi(api, c, deps.cookies)
}

export const status = (n: number) => n as ContentfulStatusCode

/** A page that cannot be shown, with the API's status and, for a missing thing, what was missing. */
export function refused(web: WebRequest, problem: ApiProblem, notFound = 'There is no such page.'): Promise<Response> {
  const message = problem.status === 404 ? notFound : problem.detail
  return web.render({ title: headingOf(problem.status) }, <ErrorPage heading={headingOf(problem.status)} message={message} />, status(problem.status))
}

export const NO_CONCERT = 'There is no such concert. It may have ended.'

export const notFound = (detail: string): ApiProblem => ({ status: 404, code: 'NOT_FOUND', detail })

/** A concert of the catalog, or the refusal to show; ids are checked before they reach an API path. */
export async function concertOf(web: WebRequest, concertId: string) {
  if (!isId(concertId)) return { ok: false as const, status: 404, problem: notFound(NO_CONCERT) }
  return web.api.call<ListedConcert>('GET', `/api/concerts/${concertId}`)
}
