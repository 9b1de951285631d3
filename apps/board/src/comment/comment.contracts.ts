import * as z from 'zod'
import { httpStateLookup, httpStatesLookup, serviceHeaders } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'

/** What other services may know of the comment service: its feed, its events and a comment's latest state. */
export const COMMENT_SOURCE = 'board.comment'
export type { CommentAdded, CommentDeleted, CommentEdited, CommentEvent } from './comment'

export const CommentState = z.object({
  commentId: z.string(),
  postId: z.string(),
  authorId: z.string(),
  content: z.string(),
  createdAt: z.string(),
  editedAt: z.string().nullable(),
  deleted: z.boolean(),
  version: z.number().int(),
})
export type CommentState = z.infer<typeof CommentState>

/** The latest state of a comment, deleted ones included; in the caller's transaction (`via`) in process. */
export type CommentLookup = (commentId: string, via?: Queryable) => Promise<CommentState | undefined>

/** Many comments at once (in process, in the caller's transaction); the ones that exist, in any order. */
export type CommentsLookup = (commentIds: readonly string[], via?: Queryable) => Promise<CommentState[]>

export const commentStatePath = (commentId: string): string => `/internal/comments/${commentId}`

/** Many comments' latest state: `?ids=a,b,c` answers `{ items: [...] }`. */
export const commentStatesPath = '/internal/comments'

export function commentLookupOverHttp(baseUrl: string, serviceCredential: string): CommentLookup {
  return httpStateLookup({ baseUrl, path: commentStatePath, parse: (body) => CommentState.parse(body), headers: serviceHeaders(serviceCredential) })
}

export function commentsLookupOverHttp(baseUrl: string, serviceCredential: string): CommentsLookup {
  return httpStatesLookup({ baseUrl, path: commentStatesPath, parse: (item) => CommentState.parse(item), headers: serviceHeaders(serviceCredential) })
}
