/**
 * The board's read side keeps one document per post. Each top-level field of the stored body belongs to
 * exactly one source and is written only under that source's version guard:
 *
 *   post               ← source 'post'           the post's own fields
 *   'comment:<id>'     ← source 'comment:<id>'   one comment (null once deleted)
 *   'member:<id>'      ← source 'member:<id>'    the nickname of a member the document shows
 *
 * so events of any source, in any order and any number of times, converge. Rendering into the shape the
 * API serves is pure and happens on read.
 */
export interface PostPart {
  title: string
  content: string
  writerId: string
  createdAt: string
  editedAt: string | null
  version: number
}

export interface CommentPart {
  content: string
  authorId: string
  createdAt: string
  editedAt: string | null
}

export type StoredPostDocument = {
  post?: PostPart
  [comment: `comment:${string}`]: CommentPart | null
  [member: `member:${string}`]: string
}

export const commentField = (commentId: string): `comment:${string}` => `comment:${commentId}`
export const memberField = (memberId: string): `member:${string}` => `member:${memberId}`

/** The fields one comment owns (null once deleted). */
export const commentFields = (commentId: string, part: CommentPart | null): Partial<StoredPostDocument> =>
  ({ [commentField(commentId)]: part }) as unknown as Partial<StoredPostDocument>

/** The field a member's nickname lives in. */
export const memberFields = (memberId: string, nickname: string): Partial<StoredPostDocument> =>
  ({ [memberField(memberId)]: nickname }) as unknown as Partial<StoredPostDocument>

export interface MemberRef {
  memberId: string
  nickname: string | null
}

export interface PostDocument {
  postId: string
  title: string
  content: string
  writer: MemberRef
  comments: Array<{ commentId: string; content: string; author: MemberRef; createdAt: string; editedAt: string | null }>
  commentCount: number
  createdAt: string
  editedAt: string | null
  /** The post's own version; comments and nicknames change the document without changing it. */
  version: number
}

export interface PostListItem {
  postId: string
  title: string
  writer: MemberRef
  commentCount: number
  createdAt: string
}

const COMMENT_PREFIX = 'comment:'

/** The document as served, or undefined while the post's own event has not arrived yet. */
export function renderPostDocument(postId: string, body: StoredPostDocument): PostDocument | undefined {
  const post = body.post
  if (!post) return undefined
  const comments = commentsOf(body)
    .map(([commentId, c]) => ({ commentId, content: c.content, author: memberRef(body, c.authorId), createdAt: c.createdAt, editedAt: c.editedAt }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.commentId.localeCompare(b.commentId))
  return {
    postId,
    title: post.title,
    content: post.content,
    writer: memberRef(body, post.writerId),
    comments,
    commentCount: comments.length,
    createdAt: post.createdAt,
    editedAt: post.editedAt,
    version: post.version,
  }
}

export function renderListItem(postId: string, body: StoredPostDocument): PostListItem | undefined {
  const post = body.post
  if (!post) return undefined
  return { postId, title: post.title, writer: memberRef(body, post.writerId), commentCount: commentsOf(body).length, createdAt: post.createdAt }
}

function commentsOf(body: StoredPostDocument): Array<[string, CommentPart]> {
  const found: Array<[string, CommentPart]> = []
  for (const [field, value] of Object.entries(body)) {
    if (field.startsWith(COMMENT_PREFIX) && value) found.push([field.slice(COMMENT_PREFIX.length), value as CommentPart])
  }
  return found
}

function memberRef(body: StoredPostDocument, memberId: string): MemberRef {
  return { memberId, nickname: body[memberField(memberId)] ?? null }
}
