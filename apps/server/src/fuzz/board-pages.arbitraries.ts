import fc from 'fast-check'
import { credential } from './auth.arbitraries'
import { goodProse, prose } from './board.arbitraries'
import type { AuthSpec, BodySpec, FuzzRequest } from './fuzz-request'
import type { World } from './fuzz-world'
import { idSegment, invalidUtf8, nastyString, rawQueryValue } from './garbage.arbitraries'
import { forwardedFor } from './headers.arbitraries'
import { app, queryOf, routeRequest } from './request.arbitraries'
import { EMAIL } from './schema.arbitraries'
import { type BodyArbitrary, type JsonBody, withClean } from './schema.arbitraries'

const BOUNDARY = 'fuzzBoundary7MA4YWxk'

function multipart(entries: ReadonlyArray<readonly [string, string]>, options: { file?: boolean; unterminated?: boolean } = {}): Buffer {
  const parts = entries.map(([name, value], i) =>
    options.file && i === 0
      ? `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n${value}\r\n`
      : `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  )
  return Buffer.from(parts.join('') + (options.unterminated ? '' : `--${BOUNDARY}--\r\n`), 'utf8')
}

/**
 * Form bodies for the pages' POSTs: the form as a browser sends it (urlencoded or multipart), and then a
 * field twice, a field missing, a file where text belongs, broken percent-encoding and multipart, bytes
 * that are not UTF-8, JSON instead of a form, no body, over the 1 MiB limit.
 */
export function formBody(fields: Record<string, FormField>): BodyArbitrary {
  const names = Object.keys(fields)
  const entriesOf = (mode: 'valid' | 'any'): fc.Arbitrary<Array<readonly [string, string]>> =>
    names.length === 0 ? fc.constant([]) : fc.tuple(...names.map((n) => { const f = fields[n]!; return (f instanceof fc.Arbitrary ? f : f[mode]).map((v) => [n, v] as const) }))
  const entries = entriesOf('any')
  const urlencoded = (pairs: ReadonlyArray<readonly [string, string]>) => Buffer.from(new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v.replace(/[\uD800-\uDFFF]/g, '?')])).toString())
  const form = 'application/x-www-form-urlencoded'
  const bytes = (b: Buffer, contentType: string | undefined): JsonBody => ({ contentType, body: { kind: 'bytes', bytes: b } satisfies BodySpec })
  return withClean(fc.oneof(
    { arbitrary: entries.map((e) => bytes(urlencoded(e), form)), weight: 10 },
    { arbitrary: entries.map((e) => bytes(multipart(e.map(([k, v]) => [k, v.replace(/[\uD800-\uDFFF]/g, '?')])), `multipart/form-data; boundary=${BOUNDARY}`)), weight: 3 },
    { arbitrary: entries.map((e) => bytes(urlencoded([...e, ...e]), form)), weight: 1 },
    { arbitrary: entries.map((e) => bytes(urlencoded(e.slice(1)), form)), weight: 1 },
    { arbitrary: entries.map((e) => bytes(multipart(e, { file: true }), `multipart/form-data; boundary=${BOUNDARY}`)), weight: 1 },
    { arbitrary: entries.map((e) => bytes(multipart(e, { unterminated: true }), `multipart/form-data; boundary=${BOUNDARY}`)), weight: 1 },
    { arbitrary: entries.map((e) => bytes(multipart(e), 'multipart/form-data; boundary=other')), weight: 1 },
    { arbitrary: entries.map((e) => bytes(multipart(e), 'multipart/form-data')), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...(names.length > 0 ? names : ['x'])), fc.constantFrom('%ZZ', '%', '%C0%AF', '%ED%A0%80', '%00', '%FF%FE', '+%2B+'))
        .map(([name, junk]) => bytes(Buffer.from(`${name}=${junk}&${names.map((n) => `${n}=x`).join('&')}`), form)),
      weight: 2,
    },
    { arbitrary: fc.tuple(entries, invalidUtf8).map(([e, bad]) => bytes(Buffer.concat([urlencoded(e), Buffer.from('&x='), bad]), form)), weight: 1 },
    { arbitrary: fc.tuple(entries, fc.constantFrom('application/json', form)).map(([e, type]) => bytes(Buffer.from(JSON.stringify(Object.fromEntries(e))), type)), weight: 1 },
    { arbitrary: fc.constantFrom<JsonBody>({ contentType: form, body: undefined }, { contentType: undefined, body: undefined }, { contentType: 'text/plain', body: { kind: 'bytes', bytes: Buffer.from('title=a') } }), weight: 1 },
    { arbitrary: fc.constant<JsonBody>({ contentType: form, body: { kind: 'filler', prefix: 'title=', size: 1024 * 1024 + 10, chunked: false } }), weight: 1 },
  ), entriesOf('valid').map((e) => bytes(urlencoded(e), form)))
}

/** A form field's values: any, or `{ valid, any }` when the valid ones need saying apart. */
export type FormField = fc.Arbitrary<string> | { valid: fc.Arbitrary<string>; any: fc.Arbitrary<string> }

export function boardPageRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const { ids } = world
  const posts = idSegment([...ids.alicePosts, ...ids.bobPosts, ...ids.deletedPosts])
  const comments = idSegment([...ids.aliceComments, ...ids.bobComments, ...ids.deletedComments])
  const deletablePosts = idSegment([...ids.sparePosts, ...ids.deletedPosts])
  const deletableComments = idSegment([...ids.spareComments, ...ids.deletedComments])
  const postId = fc.oneof(fc.constantFrom(...ids.alicePosts, ...ids.bobPosts), nastyString, fc.uuid())
  // The session cookie: a member's token (or a forged one, or junk) where the browser keeps it.
  const session: fc.Arbitrary<AuthSpec | undefined> = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: credential().map((c): AuthSpec => ({ credential: c, placement: { in: 'cookie', name: 'tidings_session' } })), weight: 8 },
  )
  // Same-origin forms pass the CSRF guard; the others must be refused before anything happens.
  const origin = fc.oneof(
    { arbitrary: fc.constant<Record<string, string>>({ origin: world.origin }), weight: 8 },
    { arbitrary: fc.constantFrom<Record<string, string>>({ origin: 'null' }, { origin: 'http://evil.example' }, { origin: world.origin + '.evil.example' }, {}, { 'sec-fetch-site': 'same-origin' }, { origin: 'http://evil.example', 'sec-fetch-site': 'same-origin' }), weight: 2 },
  )
  const email = { valid: fc.constantFrom(...world.victims), any: fc.oneof(fc.emailAddress(), fc.constantFrom(...world.victims), nastyString) }
  const newEmail = { valid: fc.stringMatching(EMAIL).filter((e) => e.length <= 254), any: email.any }
  const password = { valid: fc.constant(world.members.alice.password), any: fc.oneof(fc.constant(world.members.alice.password), fc.string({ minLength: 8, maxLength: 30 }), nastyString) }
  const title = { valid: goodProse, any: prose(200) }
  const content = { valid: goodProse, any: prose(20_000) }
  const comment = { valid: goodProse, any: prose(2_000) }
  const realPost = { valid: fc.constantFrom(...ids.alicePosts, ...ids.bobPosts), any: postId }
  const next = fc.oneof(fc.constantFrom('/', '/posts/new', '//evil.example', '/\\evil.example', 'https://evil.example', '/%2F%2Fevil.example', '/\t/evil.example', 'javascript:alert(1)', '/' + 'a'.repeat(2100)), nastyString)
  const page = (route: string, path: fc.Arbitrary<string>, query?: Parameters<typeof queryOf>[0]) =>
    routeRequest({ route: `GET ${route}`, method: 'GET', path, auth: session, ...(query ? { query: queryOf(query) } : {}) })
  const form = (route: string, path: fc.Arbitrary<string>, fields: Record<string, FormField>, headers = origin) =>
    routeRequest({ route: `POST ${route}`, method: 'POST', path, auth: session, headers, body: formBody(fields) })
  // The sign-in limits count per address: sign-ups and log-ins come from a pool of them.
  const originFromAddress = fc.tuple(origin, forwardedFor).map(([o, address]) => ({ ...o, 'x-forwarded-for': address }))

  return app(
    [4, page('/', fc.constant('/'), { before: fc.oneof(posts, fc.constant(rawQueryValue('%ZZ'))) })],
    [1, page('/posts/new', fc.constant('/posts/new'))],
    [4, page('/posts/:postId', posts.map((p) => `/posts/${p}`))],
    [2, page('/posts/:postId/edit', posts.map((p) => `/posts/${p}/edit`))],
    [1, page('/signup', fc.constant('/signup'))],
    [2, page('/login', fc.constant('/login'), { next })],
    [2, page('/notifications', fc.constant('/notifications'))],
    [1, page('/notifications/stream', fc.constant('/notifications/stream'))],
    [1, page('/assets/board.js', fc.constantFrom('/assets/board.js', '/assets/../assets/board.js', '/assets/board.js%00', '/assets/%2e%2e/package.json'))],
    [3, form('/signup', fc.constant('/signup'), { email: newEmail, password, nickname: { valid: fc.stringMatching(/^[a-z0-9_]{2,20}$/), any: fc.oneof(fc.stringMatching(/^[a-z0-9_]{2,20}$/), nastyString) } }, originFromAddress)],
    [3, form('/login', fc.constant('/login'), { email, password, next: { valid: fc.constantFrom('/', '/posts/new', '/notifications'), any: next } }, originFromAddress)],
    [1, form('/logout', fc.constant('/logout'), {})],
    [4, form('/posts', fc.constant('/posts'), { title, content })],
    [2, form('/posts/:postId/edit', posts.map((p) => `/posts/${p}/edit`), { title, content })],
    [2, form('/posts/:postId/delete', deletablePosts.map((p) => `/posts/${p}/delete`), {})],
    [3, form('/posts/:postId/comments', posts.map((p) => `/posts/${p}/comments`), { content: comment })],
    [2, form('/comments/:commentId/edit', comments.map((c) => `/comments/${c}/edit`), { content: comment, postId: realPost })],
    [2, form('/comments/:commentId/delete', deletableComments.map((c) => `/comments/${c}/delete`), { postId: realPost })],
    [2, form('/notifications/:id/read', idSegment(ids.aliceNotifications).map((n) => `/notifications/${n}/read`), {})],
  )
}
