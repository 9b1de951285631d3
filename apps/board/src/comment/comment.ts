import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** A comment on a post, on the command side. Pure: ids and time come in from the edge. */
export interface Comment {
  commentId: string
  postId: string
  authorId: string
  content: string
  createdAt: string
  editedAt: string | null
  deleted: boolean
  version: number
}

/** Zero-payload: ids and the version only. `postId` lets a consumer route the event without a lookup. */
type CommentRef = { commentId: string; postId: string; version: number }
export type CommentAdded = Event<'board.CommentAdded.v1', CommentRef>
export type CommentEdited = Event<'board.CommentEdited.v1', CommentRef>
export type CommentDeleted = Event<'board.CommentDeleted.v1', CommentRef>
export type CommentEvent = CommentAdded | CommentEdited | CommentDeleted

export class CommentNotFound extends TidingsError {
  constructor(commentId: string) {
    super('COMMENT_NOT_FOUND', 'not_found', `No comment ${commentId}`)
  }
}

export class NotCommentAuthor extends TidingsError {
  constructor(commentId: string) {
    super('FORBIDDEN', 'forbidden', `Only the author of comment ${commentId} may change it`)
  }
}

const ref = (c: Comment): CommentRef => ({ commentId: c.commentId, postId: c.postId, version: c.version })

/** The post must exist and not be deleted; the caller checks that, since posts belong to another service. */
export function addComment(input: { commentId: string; postId: string; authorId: string; content: string; now: Date }): Decision<Comment, CommentAdded> {
  const { now, ...fields } = input
  const comment: Comment = { ...fields, createdAt: now.toISOString(), editedAt: null, deleted: false, version: 1 }
  return decide(comment, event<CommentAdded>('board.CommentAdded.v1', comment.commentId, ref(comment)))
}

export function editComment(comment: Comment, by: string, content: string, now: Date): Decision<Comment, CommentEdited> {
  mayChange(comment, by)
  const next: Comment = { ...comment, content, editedAt: now.toISOString(), version: comment.version + 1 }
  return decide(next, event<CommentEdited>('board.CommentEdited.v1', comment.commentId, ref(next)))
}

export function deleteComment(comment: Comment, by: string): Decision<Comment, CommentDeleted> {
  mayChange(comment, by)
  const next: Comment = { ...comment, deleted: true, version: comment.version + 1 }
  return decide(next, event<CommentDeleted>('board.CommentDeleted.v1', comment.commentId, ref(next)))
}

function mayChange(comment: Comment, by: string): void {
  if (comment.deleted) throw new CommentNotFound(comment.commentId)
  if (comment.authorId !== by) throw new NotCommentAuthor(comment.commentId)
}
