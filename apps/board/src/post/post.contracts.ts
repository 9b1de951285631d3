import * as z from 'zod'
import { httpStateLookup } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'

/** What other services may know of the post service: its feed, its events and a post's latest state. */
export const POST_SOURCE = 'board.post'
export type { PostCreated, PostDeleted, PostEdited, PostEvent } from './post'

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

export const postStatePath = (postId: string): string => `/internal/posts/${postId}`

export function postLookupOverHttp(baseUrl: string): PostLookup {
  return httpStateLookup({ baseUrl, path: postStatePath, parse: (body) => PostState.parse(body) })
}
