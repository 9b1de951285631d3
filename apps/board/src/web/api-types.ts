import type { MemberRef, PostDocument, PostListItem } from '../board-query/post-document'

/**
 * The shapes of the board's public JSON API as these pages read them: the read side's own types (type
 * imports only, so the pages still reach the data through the API alone) and the rest of the API's answers.
 */
export type { MemberRef, PostDocument, PostListItem }
export type PostComment = PostDocument['comments'][number]

export interface PostList {
  items: PostListItem[]
  nextCursor: string | null
}

export interface NotificationView {
  notificationId: string
  kind: string
  postId: string
  postTitle: string
  commentId: string
  actor: MemberRef
  createdAt: string
  read: boolean
}

export interface NotificationList {
  items: NotificationView[]
  unread: number
}

export interface Me {
  memberId: string
  email: string
  nickname: string
}

export interface LoginAnswer {
  token: string
  expiresAt: string
}

/** What the API says when it refuses (RFC 9457 problem+json); `fields` names the invalid inputs. */
export interface ApiProblem {
  status: number
  code: string
  detail: string
  fields?: Array<{ path: string; message: string }>
}
