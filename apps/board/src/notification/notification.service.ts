import { consistencyWaiter, openSubscription, type ServiceContext } from '@tidings/http'
import type { FeedReader } from '@tidings/core'
import { migrate } from '@tidings/postgres'
import type { TokenVerifier } from '@tidings/auth'
import { commentNotificationsProjection, type NotificationSources } from './comment-notifications.projection'
import { NotificationHub } from './notification-hub'
import { NotificationRepository, notificationMigrations } from './notification.repository'
import { notificationRoutes } from './notification.routes'
import type { BoardService } from '../shared/board-service'

export const NOTIFICATION_SCHEMA = 'board_notification'
export const NOTIFICATION_SERVICE = 'board.notification'

export interface NotificationOptions {
  /** Open streams per member in this process (default 5); the next is refused with 429 `TOO_MANY_STREAMS`. */
  maxStreamsPerMember?: number
  /** Between keep-alives of an idle stream, at which its token is checked again (default 15 s). */
  heartbeatMs?: number
}

/** Tells writers about comments on their posts: stored, listed, and pushed live over Server-Sent Events. */
export async function notificationService(
  ctx: ServiceContext,
  verify: TokenVerifier,
  commentFeed: FeedReader,
  sources: NotificationSources,
  options: NotificationOptions = {},
): Promise<BoardService & { hub: NotificationHub }> {
  await migrate(ctx.db, NOTIFICATION_SCHEMA, NOTIFICATION_SERVICE, notificationMigrations)
  const notifications = new NotificationRepository(NOTIFICATION_SCHEMA)
  const hub = new NotificationHub(options)
  const projection = commentNotificationsProjection(notifications, sources, ctx.clock, (n) => hub.publish(n))
  const subscription = await openSubscription(ctx, NOTIFICATION_SCHEMA, projection, [commentFeed])
  return {
    name: NOTIFICATION_SERVICE,
    routes: notificationRoutes({
      db: ctx.db,
      notifications,
      hub,
      verify,
      waiter: consistencyWaiter([subscription], { timeoutMs: ctx.consistencyTimeoutMs }),
      clock: ctx.clock,
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    }),
    feeds: {},
    subscriptions: [subscription],
    producerSchemas: [],
    consumerSchemas: [NOTIFICATION_SCHEMA],
    close: () => hub.close(),
    hub,
  }
}
