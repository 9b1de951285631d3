import { consumer, uuidv7, type Clock, type Envelope } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import { COMMENT_SOURCE, type CommentAdded, type CommentLookup } from '../comment/comment.contracts'
import type { MemberLookup } from '../member/member.contracts'
import type { PostLookup } from '../post/post.contracts'
import { notificationFor, type Notification } from './notification'
import type { NotificationRepository } from './notification.repository'

export const COMMENT_NOTIFICATIONS_CONSUMER = 'notification.comment-notifications'

export interface NotificationSources {
  posts: PostLookup
  comments: CommentLookup
  members: MemberLookup
}

/**
 * Tells a post's writer about each new comment. The inbox makes a redelivered event a no-op and the unique
 * comment id makes a replayed one harmless; a notification is pushed to open streams only once committed.
 */
export function commentNotificationsProjection(
  notifications: NotificationRepository,
  sources: NotificationSources,
  clock: Clock,
  onCreated: (notification: Notification) => void,
) {
  const createdBy = new Map<string, Notification>()
  return consumer<Queryable>({
    name: COMMENT_NOTIFICATIONS_CONSUMER,
    follows: [COMMENT_SOURCE],
    async handle(tx, message: Envelope) {
      if (message.type !== 'board.CommentAdded.v1') return
      const { commentId, postId } = (message as unknown as CommentAdded).data
      const comment = await sources.comments(commentId, tx)
      if (!comment) return
      const post = await sources.posts(postId, tx)
      const actor = await sources.members(comment.authorId, tx)
      const notification = notificationFor(comment, post, actor, { notificationId: uuidv7(clock.now().getTime()), now: clock.now() })
      if (notification && (await notifications.add(tx, notification))) createdBy.set(message.id, notification)
    },
    afterCommit(messages) {
      for (const m of messages) {
        const created = createdBy.get(m.id)
        createdBy.delete(m.id)
        if (created) onCreated(created)
      }
    },
  })
}
