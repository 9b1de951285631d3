/**
 * The shapes of the board's public JSON API as these pages read them. Written down here rather than
 * imported from the services: the pages are a client of the API and may one day talk to it over the wire.
 */
export interface MemberRef {
  memberId: string
  nickname: string | null
}

export interface PostListItem {
  postId: string
  title: string
  writer: MemberRef
  commentCount: number
  createdAt: string
}

export interface PostList {
  items: PostListItem[]
  nextCursor: string | null
}

export interface PostComment {
  commentId: string
  content: string
  author: MemberRef
  createdAt: string
  editedAt: string | null
}

export interface PostDocument {
  postId: string
  title: string
  content: string
  writer: MemberRef
  comments: PostComment[]
  commentCount: number
  createdAt: string
  editedAt: string | null
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
