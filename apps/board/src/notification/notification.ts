import { TidingsError } from '@tidings/core'
import type { CommentState } from '../comment/comment.contracts'
import type { MemberState } from '@tidings/identity'
import type { PostState } from '../post/post.contracts'

/** "Someone commented on your post", as kept for its recipient. Actor and title are as they were then. */
export interface Notification {
  notificationId: string
  recipientId: string
  kind: 'comment'
  postId: string
  postTitle: string
  commentId: string
  actor: { memberId: string; nickname: string | null }
  createdAt: string
  read: boolean
}

export class NotificationNotFound extends TidingsError {
  constructor(notificationId: string) {
    super('NOTIFICATION_NOT_FOUND', 'not_found', `No notification ${notificationId}`)
  }
}

/** The post's writer hears of every live comment on a live post, except their own. Pure. */
export function notificationFor(
  comment: CommentState,
  post: PostState | undefined,
  actor: MemberState | undefined,
  input: { notificationId: string; now: Date },
): Notification | undefined {
  if (comment.deleted || !post || post.deleted || post.writerId === comment.authorId) return undefined
  return {
    notificationId: input.notificationId,
    recipientId: post.writerId,
    kind: 'comment',
    postId: post.postId,
    postTitle: post.title,
    commentId: comment.commentId,
    actor: { memberId: comment.authorId, nickname: actor?.nickname ?? null },
    createdAt: input.now.toISOString(),
    read: false,
  }
}
