import { PostNotFound } from './post.contracts'
import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** A post on the command side. Pure: ids and time come in from the edge. */
export interface Post {
  postId: string
  writerId: string
  title: string
  content: string
  createdAt: string
  editedAt: string | null
  deleted: boolean
  version: number
}

type PostRef = { postId: string; version: number }
export type PostCreated = Event<'board.PostCreated.v1', PostRef>
export type PostEdited = Event<'board.PostEdited.v1', PostRef>
export type PostDeleted = Event<'board.PostDeleted.v1', PostRef>
export type PostEvent = PostCreated | PostEdited | PostDeleted

export class NotPostWriter extends TidingsError {
  constructor(postId: string) {
    super('FORBIDDEN', 'forbidden', `Only the writer of post ${postId} may change it`)
  }
}

export function createPost(input: { postId: string; writerId: string; title: string; content: string; now: Date }): Decision<Post, PostCreated> {
  const { now, ...fields } = input
  const post: Post = { ...fields, createdAt: now.toISOString(), editedAt: null, deleted: false, version: 1 }
  return decide(post, event<PostCreated>('board.PostCreated.v1', post.postId, { postId: post.postId, version: 1 }))
}

export function editPost(post: Post, by: string, change: { title?: string; content?: string }, now: Date): Decision<Post, PostEdited> {
  mayChange(post, by)
  const next: Post = { ...post, ...change, editedAt: now.toISOString(), version: post.version + 1 }
  return decide(next, event<PostEdited>('board.PostEdited.v1', post.postId, { postId: post.postId, version: next.version }))
}

export function deletePost(post: Post, by: string): Decision<Post, PostDeleted> {
  mayChange(post, by)
  const next: Post = { ...post, deleted: true, version: post.version + 1 }
  return decide(next, event<PostDeleted>('board.PostDeleted.v1', post.postId, { postId: post.postId, version: next.version }))
}

function mayChange(post: Post, by: string): void {
  if (post.deleted) throw new PostNotFound(post.postId)
  if (post.writerId !== by) throw new NotPostWriter(post.postId)
}
