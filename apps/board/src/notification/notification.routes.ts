import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import * as z from 'zod'
import type { Clock } from '@tidings/core'
import { type ConsistencyWaiter, consistentRead, uuid, validParams, validQuery } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { NotificationNotFound, type Notification } from './notification'
import type { NotificationHub } from './notification-hub'
import type { NotificationRepository } from './notification.repository'
import type { BoardRoutes } from '../shared/board-service'

/** Keeps idle streams alive through proxies that drop silent connections. */
const HEARTBEAT_MS = 15_000

export interface NotificationRoutesDeps {
  db: Database
  notifications: NotificationRepository
  hub: NotificationHub
  verify: TokenVerifier
  waiter: ConsistencyWaiter
  clock: Clock
}

export function notificationRoutes({ db, notifications, hub, verify, waiter, clock }: NotificationRoutesDeps): BoardRoutes {
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

  // EventSource cannot send headers, so this one route also takes the token as ?access_token=.
  routes.get('/api/notifications/stream', requireMember(verify, { allowQueryToken: true }), (c) => {
    const memberId = c.get('memberId')
    return streamSSE(c, async (stream) => {
      const queued: Notification[] = []
      let wake: (() => void) | undefined
      const unsubscribe = hub.subscribe(memberId, (n) => {
        queued.push(n)
        wake?.()
      })
      const ended = AbortSignal.any([c.req.raw.signal, hub.closed])
      ended.addEventListener('abort', () => wake?.(), { once: true })
      stream.onAbort(() => wake?.())
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ unread: await notifications.unreadCount(db, memberId) }) })
        while (!ended.aborted && !stream.aborted) {
          for (let n = queued.shift(); n; n = queued.shift()) await stream.writeSSE({ event: 'notification', id: n.notificationId, data: JSON.stringify(view(n)) })
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, HEARTBEAT_MS)
            wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          wake = undefined
          if (queued.length === 0 && !ended.aborted) await stream.write(': keep-alive\n\n')
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
