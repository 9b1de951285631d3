import { createHmac, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testEngines } from '@tidings/testing'
import { strangerToken } from '@tidings/auth/test-kit'
import type { Database } from '@tidings/postgres'
import { serveBoard, TEST_SERVICE_CREDENTIAL, type ServedBoard } from './test-kit/serve-board'
import type { Member } from './test-kit/board-client'
import { documentOnceReady, expectProblem, feedLengths, send, type SendOptions } from './test-kit/problems'

/**
 * Bad credentials, ids, routes and query strings: each gets a clean 4xx problem with a stable code, never a
 * 500 or a stack trace, and none of them changes anything.
 */
const UNKNOWN = '0190a8f2-0000-7000-8000-000000000000'
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000)
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

for (const engine of await testEngines()) {
  describe(`bad credentials, ids and queries on ${engine.name}`, () => {
    let db: Database
    let served: ServedBoard
    let base: string
    let ann: Member
    let postId: string
    let commentId: string
    let lastPosition: string
    let forged: { stranger: string; strangerWithOurKid: string; expired: string; hmacWithPublicKey: string }
    const call = (method: string, path: string, options?: SendOptions) => send(base, method, path, options)
    /** The routes only services call take the service credential instead of a member's token. */
    const tokenFor = (path: string, member: Member) => (/^\/(internal|api\/feeds)\//.test(path) ? TEST_SERVICE_CREDENTIAL : member.token)
    /** A genuine token, as the identity service would issue it at log-in. */
    const mint = async (sub: string, now?: Date) => (await served.board.services.identity.issue(sub, now ? { now } : {})).token

    beforeAll(async () => {
      db = (await engine.freshDatabase()).db
      served = await serveBoard(db)
      base = served.client.baseUrl
      ann = await served.client.newMember('ann')
      const post = await served.client.createPost(ann, { title: 'Guarded', content: 'do not touch' })
      postId = post.body.postId
      const comment = await served.client.addComment(ann, postId, 'guarded too')
      commentId = comment.body.commentId
      lastPosition = comment.position!
      const ourKid = JSON.parse(Buffer.from(ann.token.split('.')[0]!, 'base64url').toString()).kid as string
      const publicKey = ((await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; x: string }> }).keys.find((k) => k.kid === ourKid)!
      // Algorithm confusion: HS256 "signed" with the public key's bytes as the secret, under our key's id.
      const confused = `${b64({ alg: 'HS256', typ: 'JWT', kid: ourKid })}.${b64({ iss: 'tidings.identity', sub: ann.memberId, jti: UNKNOWN, iat: 1, exp: 9e9 })}`
      forged = {
        stranger: await strangerToken(ann.memberId),
        strangerWithOurKid: await strangerToken(ann.memberId, { kid: ourKid }),
        expired: await mint(ann.memberId, hoursAgo(2)),
        hmacWithPublicKey: `${confused}.${createHmac('sha256', Buffer.from(publicKey.x, 'base64url')).update(confused).digest('base64url')}`,
      }
    })
    afterAll(() => served?.stop())

    /** Every route behind requireMember, each with a body that would be accepted, so only the credentials are wrong. */
    const protectedRoutes = (): Array<[string, string, unknown?]> => [
      ['POST', '/api/posts', { title: 'Sneaky', content: 'sneaky' }],
      ['PATCH', `/api/posts/${postId}`, { title: 'Hijacked' }],
      ['DELETE', `/api/posts/${postId}`],
      ['POST', `/api/posts/${postId}/comments`, { content: 'sneaky' }],
      ['PATCH', `/api/comments/${commentId}`, { content: 'hijacked' }],
      ['DELETE', `/api/comments/${commentId}`],
      ['GET', '/api/members/me'],
      ['PATCH', '/api/members/me', { nickname: 'hijacker' }],
      ['GET', '/api/notifications'],
      ['POST', `/api/notifications/${UNKNOWN}/read`],
      ['GET', '/api/notifications/stream'],
    ]

    const badAuthorizations: Array<[string, () => string | undefined, string]> = [
      ['no Authorization header', () => undefined, 'UNAUTHORIZED'],
      ['an empty Authorization header', () => '', 'UNAUTHORIZED'],
      ['Basic credentials', () => `Basic ${Buffer.from(`${ann.email}:correct horse`).toString('base64')}`, 'UNAUTHORIZED'],
      ['the Bearer scheme with no token', () => 'Bearer', 'UNAUTHORIZED'],
      ['the token without a scheme', () => ann.token, 'UNAUTHORIZED'],
      ['Bearer x', () => 'Bearer x', 'INVALID_TOKEN'],
      ['Bearer a.b.c', () => 'Bearer a.b.c', 'INVALID_TOKEN'],
      ['random base64', () => `Bearer ${randomBytes(120).toString('base64')}`, 'INVALID_TOKEN'],
      ['a 5000-character token', () => `Bearer ${'a'.repeat(5000)}`, 'INVALID_TOKEN'],
      ['two tokens', () => `Bearer ${ann.token} ${ann.token}`, 'INVALID_TOKEN'],
      ['a token signed with another key', () => `Bearer ${forged.stranger}`, 'INVALID_TOKEN'],
      ["a token signed with another key under our key's id", () => `Bearer ${forged.strangerWithOurKid}`, 'INVALID_TOKEN'],
      ['an HS256 token keyed with our public key', () => `Bearer ${forged.hmacWithPublicKey}`, 'INVALID_TOKEN'],
      ['an unsigned alg:none token', () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: ann.memberId, iat: 1, exp: 9e9 })}.`, 'INVALID_TOKEN'],
      ['a token whose payload was swapped', () => `Bearer ${ann.token.split('.')[0]}.${b64({ sub: UNKNOWN, iat: 1, exp: 9e9 })}.${ann.token.split('.')[2]}`, 'INVALID_TOKEN'],
      ['an expired token', () => `Bearer ${forged.expired}`, 'TOKEN_EXPIRED'],
    ]

    it.each(badAuthorizations)('refuses %s on every protected route with 401', async (_name, authorization, code) => {
      const before = await feedLengths(base, db)
      for (const [method, path, body] of protectedRoutes()) {
        const header = authorization()
        const reply = await call(method, path, { body, ...(header !== undefined ? { authorization: header } : {}) })
        expectProblem(reply, 401, code, `${method} ${path}`)
      }
      expect(await feedLengths(base, db)).toEqual(before)
      const doc = await documentOnceReady(served.client, postId, lastPosition, (d) => d.commentCount > 0)
      expect(doc).toMatchObject({ title: 'Guarded', version: 1, commentCount: 1, comments: [{ content: 'guarded too' }] })
    })

    it('takes ?access_token= on the event stream only, and checks it like a header', async () => {
      const stream = '/api/notifications/stream'
      expectProblem(await call('GET', `${stream}?access_token=garbage`), 401, 'INVALID_TOKEN')
      expectProblem(await call('GET', `${stream}?access_token=${forged.expired}`), 401, 'TOKEN_EXPIRED')
      expectProblem(await call('GET', `${stream}?access_token=${ann.token}&access_token=${ann.token}`), 401, 'INVALID_TOKEN')
      expectProblem(await call('GET', `${stream}?access_token=`), 401, 'UNAUTHORIZED')
      expectProblem(await call('GET', `/api/members/me?access_token=${ann.token}`), 401, 'UNAUTHORIZED')
    })

    it('refuses a genuine token for a member that does not exist with 401 TOKEN_REVOKED on every protected route, changing nothing', async () => {
      const ghost = await mint(UNKNOWN)
      const before = await feedLengths(base, db)
      for (const [method, path, body] of protectedRoutes()) expectProblem(await call(method, path, { token: ghost, body }), 401, 'TOKEN_REVOKED', `${method} ${path}`)
      expectProblem(await call('GET', `/api/notifications/stream?access_token=${ghost}`), 401, 'TOKEN_REVOKED')
      expect(await feedLengths(base, db)).toEqual(before)
    })

    it("refuses a member's earlier tokens on posts and comments once they signed out or changed password", async () => {
      for (const revoke of ['logout', 'password'] as const) {
        const member = await served.client.newMember(`rev${revoke}`)
        expect((await served.client.createPost(member, { title: 'Before', content: 'signed in' })).status).toBe(201)
        const answer = revoke === 'logout'
          ? await call('POST', '/api/auth/logout', { token: member.token })
          : await call('PUT', '/api/members/me/password', { token: member.token, body: { currentPassword: 'correct horse', newPassword: 'another horse' } })
        expect(answer.status, revoke).toBe(revoke === 'logout' ? 204 : 200)
        expectProblem(await call('POST', '/api/posts', { token: member.token, body: { title: 'After', content: 'signed out' } }), 401, 'TOKEN_REVOKED', revoke)
        expectProblem(await call('POST', `/api/posts/${postId}/comments`, { token: member.token, body: { content: 'signed out' } }), 401, 'TOKEN_REVOKED', revoke)
        expectProblem(await call('GET', `/api/notifications/stream?access_token=${member.token}`), 401, 'TOKEN_REVOKED', revoke)
      }
    })

    it('refuses a genuine token whose subject is not a member id at all', async () => {
      for (const sub of ['ghost', "'; DROP TABLE members; --", 'x'.repeat(300)]) {
        const token = await mint(sub)
        expectProblem(await call('GET', '/api/members/me', { token }), 401, 'INVALID_TOKEN', sub)
        expectProblem(await call('POST', '/api/posts', { token, body: { title: 'by nobody', content: 'x' } }), 401, 'INVALID_TOKEN', sub)
      }
    })

    it('answers malformed ids in paths with 400 VALIDATION', async () => {
      const badIds = ['not-a-uuid', '%00', '%', '%E0%A4%A', `${UNKNOWN}x`, UNKNOWN.replace(/-/g, ''), 'x'.repeat(2000), encodeURIComponent("1' OR '1'='1"), encodeURIComponent('1; DROP TABLE posts;--'), '%2e%2e%2f%2e%2e%2fetc%2fpasswd']
      for (const id of badIds) {
        const cases: Array<[string, string, unknown?]> = [
          ['GET', `/api/board/posts/${id}`],
          ['PATCH', `/api/posts/${id}`, { title: 'x' }],
          ['DELETE', `/api/posts/${id}`],
          ['POST', `/api/posts/${id}/comments`, { content: 'x' }],
          ['PATCH', `/api/comments/${id}`, { content: 'x' }],
          ['DELETE', `/api/comments/${id}`],
          ['POST', `/api/notifications/${id}/read`],
          ['GET', `/internal/posts/${id}`],
          ['GET', `/internal/comments/${id}`],
          ['GET', `/internal/members/${id}`],
        ]
        for (const [method, path, body] of cases) {
          const reply = await call(method, path, { token: tokenFor(path, ann), body })
          expectProblem(reply, 400, 'VALIDATION', `${method} ${path.slice(0, 80)}`)
          expect(reply.body.fields.map((f: { path: string }) => f.path)).toHaveLength(1)
        }
      }
    })

    it('answers well-formed unknown ids with 404 and the resource named in the code', async () => {
      for (const id of [UNKNOWN, UNKNOWN.toUpperCase()]) {
        const cases: Array<[string, string, string, unknown?]> = [
          ['GET', `/api/board/posts/${id}`, 'POST_NOT_FOUND'],
          ['PATCH', `/api/posts/${id}`, 'POST_NOT_FOUND', { title: 'x' }],
          ['DELETE', `/api/posts/${id}`, 'POST_NOT_FOUND'],
          ['POST', `/api/posts/${id}/comments`, 'POST_NOT_FOUND', { content: 'x' }],
          ['PATCH', `/api/comments/${id}`, 'COMMENT_NOT_FOUND', { content: 'x' }],
          ['DELETE', `/api/comments/${id}`, 'COMMENT_NOT_FOUND'],
          ['POST', `/api/notifications/${id}/read`, 'NOTIFICATION_NOT_FOUND'],
          ['GET', `/internal/posts/${id}`, 'POST_NOT_FOUND'],
          ['GET', `/internal/comments/${id}`, 'COMMENT_NOT_FOUND'],
          ['GET', `/internal/members/${id}`, 'MEMBER_NOT_FOUND'],
        ]
        for (const [method, path, code, body] of cases) expectProblem(await call(method, path, { token: tokenFor(path, ann), body }), 404, code, `${method} ${path}`)
      }
    })

    it('answers the routes only services call (/internal, feeds) only with the service credential, whatever else comes', async () => {
      const paths = [`/internal/posts/${postId}`, `/internal/comments?ids=${commentId}`, `/internal/members/${ann.memberId}`, '/api/feeds/board.post?after=0', '/api/feeds/board.post/lag', `/api/feeds/board.post?after=0&consumer=fake`, '/internal/nothing-here']
      const genuine = await mint(ann.memberId)
      for (const path of paths) {
        for (const options of [{}, { token: ann.token }, { token: genuine }, { token: `${TEST_SERVICE_CREDENTIAL}x` }, { headers: { Authorization: `Basic ${TEST_SERVICE_CREDENTIAL}` } }] as SendOptions[]) {
          expectProblem(await call('GET', path, options), 401, 'SERVICE_CREDENTIAL_REQUIRED', `${path} ${JSON.stringify(options).slice(0, 60)}`)
        }
      }
      expect((await call('GET', `/internal/posts/${postId}`, { token: TEST_SERVICE_CREDENTIAL })).status).toBe(200)
    })

    it('answers a deleted post or comment as deleted, without what it said', async () => {
      const asService = { token: TEST_SERVICE_CREDENTIAL }
      const post = await served.client.createPost(ann, { title: 'Secret title', content: 'secret content' })
      const comment = await served.client.addComment(ann, post.body.postId, 'secret comment')
      expect((await call('DELETE', `/api/comments/${comment.body.commentId}`, { token: ann.token })).status).toBe(204)
      expect((await call('DELETE', `/api/posts/${post.body.postId}`, { token: ann.token })).status).toBe(204)
      for (const path of [`/internal/posts/${post.body.postId}`, `/internal/posts?ids=${post.body.postId}`, `/internal/comments/${comment.body.commentId}`, `/internal/comments?ids=${comment.body.commentId}`]) {
        const reply = await call('GET', path, asService)
        expect(reply.status, path).toBe(200)
        expect(reply.text, path).toContain('"deleted":true')
        expect(reply.text, path).not.toMatch(/[Ss]ecret/)
      }
    })

    it('answers a batch lookup with the states that exist, unknown and repeated ids aside', async () => {
      const asService = { token: TEST_SERVICE_CREDENTIAL }
      const comments = await call('GET', `/internal/comments?ids=${commentId},${UNKNOWN},${commentId.toUpperCase()}`, asService)
      expect(comments.status).toBe(200)
      expect(comments.body.items).toEqual([expect.objectContaining({ commentId, postId, authorId: ann.memberId, content: 'guarded too', deleted: false, version: 1 })])
      const posts = await call('GET', `/internal/posts?ids=${postId}`, asService)
      expect(posts.body.items).toEqual([expect.objectContaining({ postId, writerId: ann.memberId, title: 'Guarded', deleted: false, version: 1 })])
      const members = await call('GET', `/internal/members?ids=${UNKNOWN},${ann.memberId}`, asService)
      expect(members.body.items).toEqual([{ memberId: ann.memberId, nickname: ann.nickname, version: 1 }])
      expect((await call('GET', `/internal/members?ids=${UNKNOWN}`, asService)).body).toEqual({ items: [] })
    })

    it('answers unknown routes and methods with 404 ROUTE_NOT_FOUND', async () => {
      const cases: Array<[string, string]> = [
        ['GET', '/api/nope'],
        ['GET', '/nope'],
        ['PUT', '/api/posts'],
        ['GET', '/api/posts'],
        ['POST', '/api/board/posts'],
        ['GET', `/api/posts/${postId}/comments/extra`],
        ['DELETE', '/api/members/me'],
        ['GET', `/api/${'x'.repeat(5000)}`],
        ['GET', '/api/%00'],
      ]
      for (const [method, path] of cases) expectProblem(await call(method, path, { token: ann.token }), 404, 'ROUTE_NOT_FOUND', `${method} ${path.slice(0, 80)}`)
    })

    it('answers bad query strings with 400 and unknown feeds with 404', async () => {
      const cases: Array<[string, number, string, SendOptions?]> = [
        ...['-1', 'abc', '1000', '0', '1.5', '', '1e400', 'NaN'].map((limit): [string, number, string] => [`/api/board/posts?limit=${limit}`, 400, 'VALIDATION']),
        ['/api/board/posts?limit=1&limit=2', 400, 'VALIDATION'],
        ['/api/board/posts?cursor=garbage', 400, 'VALIDATION'],
        [`/api/board/posts?cursor=${'f'.repeat(3000)}`, 400, 'VALIDATION'],
        ['/api/board/posts?position=garbage', 400, 'INVALID_POSITION'],
        [`/api/board/posts/${postId}`, 400, 'INVALID_POSITION', { headers: { 'Tidings-Position': 'board.post@not-a-position' } }],
        ['/api/notifications?limit=abc', 400, 'VALIDATION', { token: ann.token }],
        ['/api/notifications?cursor=%00', 400, 'VALIDATION', { token: ann.token }],
        ['/api/feeds/board.post?after=garbage', 400, 'INVALID_POSITION'],
        ['/api/feeds/board.post?after=0&after=1', 400, 'INVALID_POSITION'],
        ['/api/feeds/board.post?limit=0', 400, 'VALIDATION'],
        ['/api/feeds/board.post?limit=abc', 400, 'VALIDATION'],
        ['/api/feeds/board.post?limit=5000', 400, 'VALIDATION'],
        ['/api/feeds/board.post?wait=-1', 400, 'VALIDATION'],
        ['/api/feeds/board.post?consumer=%07bell', 400, 'VALIDATION'],
        ['/api/feeds/board.post/lag?after=garbage', 400, 'INVALID_POSITION'],
        ...['/internal/posts', '/internal/comments', '/internal/members'].flatMap((path): Array<[string, number, string]> =>
          ['', '?ids=', '?ids=not-a-uuid', `?ids=${UNKNOWN},`, `?ids=${UNKNOWN}&ids=${UNKNOWN}`, `?ids=${Array(101).fill(UNKNOWN).join(',')}`].map((query) => [`${path}${query}`, 400, 'VALIDATION'])),
        ['/api/feeds/unknown.source', 404, 'UNKNOWN_FEED'],
        ['/api/feeds/unknown.source/lag', 404, 'UNKNOWN_FEED'],
        [`/api/feeds/${'x'.repeat(3000)}`, 404, 'UNKNOWN_FEED'],
      ]
      for (const [path, status, code, options] of cases) expectProblem(await call('GET', path, options ?? { token: tokenFor(path, ann) }), status, code, path.slice(0, 80))
    })
  })
}
