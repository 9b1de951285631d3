import * as z from 'zod'
import { TidingsError } from '@tidings/core'
import { httpStateLookup, httpStatesLookup, serviceHeaders } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'

/** What other services may know of the post service: its feed, its events and a post's latest state. */
export const POST_SOURCE = 'board.post'
export type { PostCreated, PostDeleted, PostEdited, PostEvent } from './post'

/** No post by that id, or it was deleted: what the post service, and every service that names a post, answers. */
export class PostNotFound extends TidingsError {
  constructor(postId: string) {
    super('POST_NOT_FOUND', 'not_found', `No post ${postId}`)
  }
}

export const PostState = z.object({
  postId: z.string(),
  writerId: z.string(),
  title: z.string(),
  content: z.string(),
  createdAt: z.string(),
  editedAt: z.string().nullable(),
  deleted: z.boolean(),
  version: z.number().int(),
})
export type PostState = z.infer<typeof PostState>

/** The latest state of a post, deleted ones included (so readers can tell "gone" from
 * "not yet"). In process, it runs in the caller's transaction when given one (`via`). */
export type PostLookup = (postId: string, via?: Queryable) => Promise<PostState | undefined>

/** Many posts at once (in process, in the caller's transaction); the ones that exist, in any order. */
export type PostsLookup = (postIds: readonly string[], via?: Queryable) => Promise<PostState[]>

export const postStatePath = (postId: string): string => `/internal/posts/${postId}`

/** Many posts' latest state: `?ids=a,b,c` answers `{ items: [...] }`. */
export const postStatesPath = '/internal/posts'

export function postLookupOverHttp(baseUrl: string, serviceCredential: string): PostLookup {
  return httpStateLookup({ baseUrl, path: postStatePath, parse: (body) => PostState.parse(body), headers: serviceHeaders(serviceCredential) })
}

export function postsLookupOverHttp(baseUrl: string, serviceCredential: string): PostsLookup {
  return httpStatesLookup({ baseUrl, path: postStatesPath, parse: (item) => PostState.parse(item), headers: serviceHeaders(serviceCredential) })
}
