import type { Alerts, Logger } from '@tidings/core'
import { NO_STORE, problemOf, writeJson, writeProblem, type FastPath } from '@tidings/http'
import { QueueTokenNotFound } from './waiting-room'
import type { WaitingRoom } from './waiting-room.service'

const STATUS_PATH = /^\/api\/queue\/([A-Za-z0-9_-]{32})$/
const ROUTE = 'GET /api/queue/:token'

/**
 * The waiting room's hottest read, answered before the HTTP app: `GET /api/queue/:token`, which every
 * waiting holder without a push connection polls. The same answers as the route (its view, 404, or the
 * problem of a failure, alerted as the app alerts a 500); anything unusual — a query, another method, a
 * path that is not a token — goes to the app.
 */
export function queueStatusFastPath(room: WaitingRoom, deps: { logger: Logger; alerts: Alerts }): FastPath {
  return (req, res) => {
    if (req.method !== 'GET') return false
    const token = STATUS_PATH.exec(req.url ?? '')?.[1]
    if (token === undefined) return false
    room.status(token).then(
      (view) => (view ? writeJson(res, 200, view, NO_STORE) : writeProblem(res, problemOf(new QueueTokenNotFound()))),
      (error: unknown) => {
        const answer = problemOf(error, deps.logger, { method: 'GET', path: req.url })
        if (answer.status === 500) deps.alerts.raise({ kind: 'http_error', code: answer.code, where: ROUTE, message: `answered 500: ${String(error).slice(0, 200)}` })
        writeProblem(res, answer)
      },
    )
    return true
  }
}
