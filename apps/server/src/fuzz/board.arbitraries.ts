import fc from 'fast-check'
import * as z from 'zod'
import { userText } from '@tidings/http'
import { authSpec, credential } from './auth.arbitraries'
import type { FuzzRequest } from './fuzz-request'
import type { World } from './fuzz-world'
import { idSegment, nastyString, numberParam, rawQueryValue } from './garbage.arbitraries'
import { positionToken } from './headers.arbitraries'
import { app, queryOf, routeRequest } from './request.arbitraries'
import { jsonBody } from './schema.arbitraries'

// The board's bodies as its routes declare them (`post.routes.ts`, `comment.routes.ts`).
const Title = userText(1, 200)
const Content = userText(1, 20_000, { multiline: true, bidiControls: true })
const CommentContent = userText(1, 2_000, { multiline: true, bidiControls: true })
const PostBody = z.object({ title: Title, content: Content })
const EditBody = z.object({ title: Title.optional(), content: Content.optional() })
const CommentBody = z.object({ content: CommentContent })

/** Text a member would write: words, or a line of any printable graphemes with something visible in it. */
export const goodProse: fc.Arbitrary<string> = fc
  .oneof(fc.lorem({ maxCount: 12 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }))
  .filter((s) => /[^\p{Cf}\s]/u.test(s) && !/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(s))

/** Prose: mostly ordinary, with the edge cases user text must survive or be refused for. */
export const prose = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), weight: 6 },
    { arbitrary: fc.lorem({ maxCount: 30 }), weight: 2 },
    { arbitrary: fc.constantFrom('x'.repeat(max), 'x'.repeat(max + 1), '𝔘'.repeat(max), ' \n\t ', '\u200B\u200B', 'a\u202Eb', 'first\r\nsecond', 'e\u0301'), weight: 2 },
    { arbitrary: nastyString, weight: 3 },
  )

export function boardRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const { ids } = world
  const posts = idSegment([...ids.alicePosts, ...ids.bobPosts, ...ids.deletedPosts])
  const comments = idSegment([...ids.aliceComments, ...ids.bobComments, ...ids.deletedComments])
  const notifications = idSegment(ids.aliceNotifications)
  const deletablePosts = idSegment([...ids.sparePosts, ...ids.deletedPosts])
  const deletableComments = idSegment([...ids.spareComments, ...ids.deletedComments])
  const members = authSpec()
  const cursor = fc.oneof(idSegment([...ids.alicePosts, ...ids.bobPosts]), fc.constant(rawQueryValue('%ZZ')))
  const title = prose(200)
  const content = prose(20_000)

  return app(
    [5, routeRequest({ route: 'POST /api/posts', method: 'POST', path: fc.constant('/api/posts'), auth: members, body: jsonBody(PostBody, { title: { valid: goodProse, any: title }, content: { valid: goodProse, any: content } }) })],
    [3, routeRequest({ route: 'PATCH /api/posts/:postId', method: 'PATCH', path: posts.map((p) => `/api/posts/${p}`), auth: members, body: jsonBody(EditBody, { title: { valid: goodProse, any: title }, content: { valid: goodProse, any: content } }) })],
    [2, routeRequest({ route: 'DELETE /api/posts/:postId', method: 'DELETE', path: deletablePosts.map((p) => `/api/posts/${p}`), auth: authSpec({ credentials: credential({ token: 3, forged: 6 }) }) })],
    [4, routeRequest({ route: 'POST /api/posts/:postId/comments', method: 'POST', path: posts.map((p) => `/api/posts/${p}/comments`), auth: members, body: jsonBody(CommentBody, { content: { valid: goodProse, any: prose(2_000) } }) })],
    [3, routeRequest({ route: 'PATCH /api/comments/:commentId', method: 'PATCH', path: comments.map((c) => `/api/comments/${c}`), auth: members, body: jsonBody(CommentBody, { content: { valid: goodProse, any: prose(2_000) } }) })],
    [2, routeRequest({ route: 'DELETE /api/comments/:commentId', method: 'DELETE', path: deletableComments.map((c) => `/api/comments/${c}`), auth: authSpec({ credentials: credential({ token: 3, forged: 6 }) }) })],
    [4, routeRequest({ route: 'GET /api/board/posts/:postId', method: 'GET', path: posts.map((p) => `/api/board/posts/${p}`), query: queryOf({ position: positionToken }) })],
    [4, routeRequest({ route: 'GET /api/board/posts', method: 'GET', path: fc.oneof({ arbitrary: fc.constant('/api/board/posts'), weight: 9 }, { arbitrary: fc.constant('/api/board/posts/'), weight: 1 }), query: queryOf({ limit: numberParam([1, 20, 100]), cursor, position: positionToken, extra: nastyString }) })],
    [3, routeRequest({ route: 'GET /api/notifications', method: 'GET', path: fc.constant('/api/notifications'), auth: members, query: queryOf({ limit: numberParam([1, 50, 100]), cursor: notifications, position: positionToken }) })],
    [2, routeRequest({ route: 'POST /api/notifications/:id/read', method: 'POST', path: notifications.map((n) => `/api/notifications/${n}/read`), auth: members })],
    [2, routeRequest({ route: 'GET /api/notifications/stream', method: 'GET', path: fc.constant('/api/notifications/stream'), auth: authSpec({ placement: fc.constantFrom({ in: 'query', name: 'access_token' } as const, { in: 'authorization', template: 'Bearer {}' } as const) }) })],
  )
}
