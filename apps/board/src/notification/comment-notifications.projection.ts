import { consumer, uuidv7, type Clock, type Envelope } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import { COMMENT_SOURCE, type CommentAdded, type CommentLookup, type CommentsLookup, type CommentState } from '../comment/comment.contracts'
import type { MemberLookup, MembersLookup, MemberState } from '@tidings/identity'
import type { PostLookup, PostsLookup, PostState } from '../post/post.contracts'
import { notificationFor, type Notification } from './notification'
import type { NotificationRepository } from './notification.repository'

export const COMMENT_NOTIFICATIONS_CONSUMER = 'notification.comment-notifications'

export interface NotificationSources {
  posts: PostLookup
  comments: CommentLookup
  members: MemberLookup
  /** Batch lookups, when the owners offer them: a page of comments in three lookups, not three per comment. */
  commentsMany?: CommentsLookup
  postsMany?: PostsLookup
  membersMany?: MembersLookup
}

const byId = <T>(states: T[], id: (state: T) => string): Map<string, T> => new Map(states.map((s) => [id(s), s]))

/**
 * Tells a post's writer about each new comment. The inbox makes a redelivered event a no-op and the unique
 * comment id makes a replayed one harmless; a notification is pushed to open streams only once committed.
 * A page of comments is three lookups and one insert.
 */
export function commentNotificationsProjection(
  notifications: NotificationRepository,
  sources: NotificationSources,
  clock: Clock,
  onCreated: (notification: Notification) => void,
) {
  const createdBy = new Map<string, Notification>()
  const added = (message: Envelope): CommentAdded | undefined => (message.type === 'board.CommentAdded.v1' ? (message as unknown as CommentAdded) : undefined)

  const notificationOf = (comment: CommentState, post: PostState | undefined, actor: MemberState | undefined) =>
    notificationFor(comment, post, actor, { notificationId: uuidv7(clock.now().getTime()), now: clock.now() })

  /** Adds the notifications of these messages in one statement; those added go out once the page commits. */
  async function addAll(tx: Queryable, made: ReadonlyArray<{ message: Envelope; notification: Notification }>): Promise<void> {
    const added = await notifications.addAll(tx, [...new Map(made.map((m) => [m.notification.commentId, m.notification])).values()])
    for (const { message, notification } of made) {
      if (added.delete(notification.commentId)) createdBy.set(message.id, notification)
    }
  }

  async function handle(tx: Queryable, message: Envelope): Promise<void> {
    const event = added(message)
    if (!event) return
    const comment = await sources.comments(event.data.commentId, tx)
    if (!comment) return
    const notification = notificationOf(comment, await sources.posts(event.data.postId, tx), await sources.members(comment.authorId, tx))
    if (notification) await addAll(tx, [{ message, notification }])
  }

  return consumer<Queryable>({
    name: COMMENT_NOTIFICATIONS_CONSUMER,
    follows: [COMMENT_SOURCE],
    handle,
    async handleBatch(tx, messages: Envelope[]) {
      const { commentsMany, postsMany, membersMany } = sources
      const events = messages.flatMap((m) => {
        const event = added(m)
        return event ? [{ message: m, event }] : []
      })
      if (!commentsMany || !postsMany || !membersMany) {
        for (const message of messages) await handle(tx, message)
        return
      }
      const comments = byId(await commentsMany([...new Set(events.map((e) => e.event.data.commentId))], tx), (c) => c.commentId)
      const posts = byId(await postsMany([...new Set(events.map((e) => e.event.data.postId))], tx), (p) => p.postId)
      const actors = byId(await membersMany([...new Set([...comments.values()].map((c) => c.authorId))], tx), (m) => m.memberId)
      const made = events.flatMap(({ message, event }) => {
        const comment = comments.get(event.data.commentId)
        const notification = comment && notificationOf(comment, posts.get(event.data.postId), actors.get(comment.authorId))
        return notification ? [{ message, notification }] : []
      })
      await addAll(tx, made)
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
