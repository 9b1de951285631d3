import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import * as z from 'zod'
import type { Clock } from '@tidings/core'
import type { SSEStreamingApi } from 'hono/streaming'
import { type ConsistencyWaiter, consistentRead, problem, problemResponse, uuid, validParams, validQuery } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { requireMember, type MemberEnv, type PresentedToken, type TokenVerifier } from '@tidings/auth'
import { TidingsError } from '@tidings/core'
import { NotificationNotFound, type Notification } from './notification'
import type { NotificationHub } from './notification-hub'
import type { NotificationRepository } from './notification.repository'
import type { BoardRoutes } from '../shared/board-service'

/** Keeps idle streams alive through proxies that drop silent connections; the token is checked again at each. */
const HEARTBEAT_MS = 15_000

export interface NotificationRoutesDeps {
  db: Database
  notifications: NotificationRepository
  hub: NotificationHub
  verify: TokenVerifier
  waiter: ConsistencyWaiter
  clock: Clock
  /** Between keep-alives of an idle stream (default 15 s). */
  heartbeatMs?: number
}

export function notificationRoutes({ db, notifications, hub, verify, waiter, clock, heartbeatMs = HEARTBEAT_MS }: NotificationRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const signedIn = requireMember(verify)

  routes.get('/api/notifications', signedIn, validQuery(z.object({ limit: z.coerce.number().int().min(1).max(100).default(50), cursor: uuid.optional() })), consistentRead({ waiter }), async (c) => {
    const { limit, cursor } = c.req.valid('query')
    const items = await notifications.list(db, c.get('memberId'), { limit, before: cursor })
    const unread = await notifications.unreadCount(db, c.get('memberId'))
    return c.json({ items: items.map(view), unread, nextCursor: items.length === limit ? items.at(-1)!.notificationId : null })
  })

  routes.post('/api/notifications/:notificationId/read', signedIn, validParams(z.object({ notificationId: uuid })), async (c) => {
    const { notificationId } = c.req.valid('param')
    const marked = await notifications.markRead(db, c.get('memberId'), notificationId, clock.now())
    if (!marked) throw new NotificationNotFound(notificationId)
    return c.json(view(marked))
  })

  // EventSource cannot send headers, so this one route also takes the token as ?access_token=. A stream
  // lives as long as its token: it ends at the token's expiry, or after the member signed out or changed
  // password — before the next notification would go out, or within a keep-alive interval when none comes
  // (the token is checked again that often, busy or idle) — with a `signed-out` event saying why.
  routes.get('/api/notifications/stream', requireMember(verify, { allowQueryToken: true }), (c) => {
    const memberId = c.get('memberId')
    const token = c.get('token')
    const queued: Notification[] = []
    let wake: (() => void) | undefined
    // Taken before the response starts, so that a stream over the member's limit is a plain 429.
    const unsubscribe = hub.subscribe(memberId, (n) => {
      queued.push(n)
      wake?.()
    })
    if (!unsubscribe) return tooManyStreams(hub.maxStreamsPerMember, heartbeatMs)
    return streamSSE(c, async (stream) => {
      const ended = AbortSignal.any([c.req.raw.signal, hub.closed])
      ended.addEventListener('abort', () => wake?.(), { once: true })
      stream.onAbort(() => wake?.())
      /** Waits until woken (true) or `ms` pass (false). */
      const pause = (ms: number) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms)
          wake = () => {
            clearTimeout(timer)
            resolve(true)
          }
        }).finally(() => (wake = undefined))
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ unread: await notifications.unreadCount(db, memberId) }) })
        // The token is checked again before notifications go out, so that none is delivered on a token
        // revoked meanwhile (in the identity service's process at once; elsewhere within its member check's
        // TTL), and every `heartbeatMs` when none come: a revoked token's stream ends busy or idle.
        let checkedAt = clock.now().getTime()
        while (!ended.aborted && !stream.aborted) {
          if (token.expiresAt.getTime() <= clock.now().getTime()) return await signedOut(stream, 'TOKEN_EXPIRED')
          if (queued.length > 0 || clock.now().getTime() - checkedAt >= heartbeatMs) {
            const refused = await refusalOf(token)
            if (refused) return await signedOut(stream, refused)
            checkedAt = clock.now().getTime()
          }
          for (let n = queued.shift(); n; n = queued.shift()) await stream.writeSSE({ event: 'notification', id: n.notificationId, data: JSON.stringify(view(n)) })
          const left = token.expiresAt.getTime() - clock.now().getTime()
          if (left <= 0) return await signedOut(stream, 'TOKEN_EXPIRED')
          const untilCheck = checkedAt + heartbeatMs - clock.now().getTime()
          const woken = await pause(Math.max(0, Math.min(untilCheck, left)))
          if (woken || queued.length > 0 || ended.aborted) continue
          await stream.write(': keep-alive\n\n')
        }
      } finally {
        unsubscribe()
      }
    })
  })

  return routes
}

function view(n: Notification) {
  return { notificationId: n.notificationId, kind: n.kind, postId: n.postId, postTitle: n.postTitle, commentId: n.commentId, actor: n.actor, createdAt: n.createdAt, read: n.read }
}

/** The code of the refusal when the token is no longer good (expired, revoked); undefined while it is, or when that cannot be told now. */
async function refusalOf(token: PresentedToken): Promise<string | undefined> {
  try {
    await token.verifyAgain()
    return undefined
  } catch (error) {
    // Identity unavailable is no reason to drop a member's stream: it is asked again at the next keep-alive.
    if (error instanceof TidingsError && error.kind === 'unauthorized') return error.code
    return undefined
  }
}

/** The last event of a stream whose token is no longer good: the client signs in again instead of reconnecting. */
async function signedOut(stream: SSEStreamingApi, code: string): Promise<void> {
  await stream.writeSSE({ event: 'signed-out', data: JSON.stringify({ code }) })
}

/** 429 `TOO_MANY_STREAMS`; a stream whose client went away is noticed at its next keep-alive, hence `Retry-After`. */
function tooManyStreams(max: number, heartbeatMs: number): Response {
  const retryAfter = Math.max(1, Math.ceil(heartbeatMs / 1000))
  return problemResponse(problem(429, 'TOO_MANY_STREAMS', `At most ${max} notification streams may be open at once; close one first`, { retryAfter }), { 'Retry-After': String(retryAfter) })
}
