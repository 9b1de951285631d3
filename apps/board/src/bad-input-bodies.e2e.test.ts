import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest, testEngines, type RawResponse } from '@tidings/testing'
import type { Database } from '@tidings/postgres'
import { serveBoard, type ServedBoard } from './test-kit/serve-board'
import type { Member } from './test-kit/board-client'
import { documentOnceReady, everythingSoFar, expectProblem, feedLengths, fromRaw, send, type Reply, type SendOptions } from './test-kit/problems'

/**
 * Bad bodies and awkward text: every refusal is a clean 4xx problem with a stable code and writes nothing;
 * every well-formed text, however exotic, is accepted and reads back exactly (NFC-normalised and trimmed).
 */
const MiB = 1024 * 1024
let unique = 0
const fresh = (name: string) => `${name}${process.pid % 10_000}y${++unique}`

for (const engine of await testEngines()) {
  describe(`bad bodies and text on ${engine.name}`, () => {
    let db: Database
    let served: ServedBoard
    let base: string
    let ann: Member
    let bob: Member
    let postId: string
    let commentId: string
    const call = (method: string, path: string, options?: SendOptions) => send(base, method, path, options)

    beforeAll(async () => {
      db = (await engine.freshDatabase()).db
      served = await serveBoard(db)
      base = served.client.baseUrl
      ann = await served.client.newMember('ann')
      bob = await served.client.newMember('bob')
      postId = (await served.client.createPost(ann, { title: 'Target', content: 'for comments and edits' })).body.postId
      commentId = (await served.client.addComment(bob, postId, 'a comment to edit')).body.commentId
    })
    afterAll(() => served?.stop())

    /** Every route that takes a body, with who may call it. */
    const bodyRoutes = (): Array<[string, string, string?]> => [
      ['POST', '/api/members'],
      ['POST', '/api/auth/login'],
      ['PATCH', '/api/members/me', ann.token],
      ['POST', '/api/posts', ann.token],
      ['PATCH', `/api/posts/${postId}`, ann.token],
      ['POST', `/api/posts/${postId}/comments`, bob.token],
      ['PATCH', `/api/comments/${commentId}`, bob.token],
    ]

    it('answers a body that is not JSON with 400 MALFORMED_JSON', async () => {
      for (const [method, path, token] of bodyRoutes()) {
        for (const text of ['not json', '{"title":', '', "{'title':'x'}", '{"title":"x",}', '{"a":1}{"b":2}', '\u0000', '\ud800']) {
          expectProblem(await call(method, path, { token, body: text }), 400, 'MALFORMED_JSON', `${method} ${path} ${JSON.stringify(text)}`)
        }
      }
    })

    // The platform maps every refusal of this kind to 400, by design (packages/http README), not 415.
    it('answers a body that is not declared as JSON with 400 UNSUPPORTED_MEDIA_TYPE', async () => {
      for (const [method, path, token] of bodyRoutes()) {
        for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', '']) {
          expectProblem(await call(method, path, { token, body: '{"title":"x","content":"y"}', contentType }), 400, 'UNSUPPORTED_MEDIA_TYPE', `${path} ${contentType}`)
        }
      }
    })

    it('answers JSON that is not an object with 400 VALIDATION', async () => {
      for (const [method, path, token] of bodyRoutes()) {
        for (const text of ['[]', '[{"title":"x","content":"y"}]', '"x"', 'null', '42', 'true']) {
          const reply = await call(method, path, { token, body: text })
          expectProblem(reply, 400, 'VALIDATION', `${path} ${text}`)
          expect(reply.body.fields).toEqual([{ path: '', message: 'The body must be a JSON object' }])
        }
      }
    })

    it('names every missing or wrong-typed field', async () => {
      const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
      const cases: Array<[string, string, string, unknown, string[]]> = [
        ['POST', '/api/posts', ann.token, {}, ['title', 'content']],
        ['POST', '/api/posts', ann.token, { title: 'x' }, ['content']],
        ['POST', '/api/posts', ann.token, { title: 1, content: 'x' }, ['title']],
        ['POST', '/api/posts', ann.token, { title: null, content: {} }, ['title', 'content']],
        ['POST', '/api/posts', ann.token, `{"title":${deep},"content":"x"}`, ['title']],
        ['PATCH', `/api/posts/${postId}`, ann.token, {}, ['']],
        ['PATCH', `/api/posts/${postId}`, ann.token, { title: ['x'] }, ['title']],
        ['POST', `/api/posts/${postId}/comments`, bob.token, { content: 42 }, ['content']],
        ['PATCH', `/api/comments/${commentId}`, bob.token, { content: null }, ['content']],
        ['PATCH', '/api/members/me', ann.token, { nickname: false }, ['nickname']],
        ['POST', '/api/members', '', { email: 'nope', password: 1, nickname: [] }, ['email', 'password', 'nickname']],
        ['POST', '/api/auth/login', '', {}, ['email', 'password']],
      ]
      for (const [method, path, token, body, fields] of cases) {
        const reply = await call(method, path, { token: token || undefined, body })
        expectProblem(reply, 400, 'VALIDATION', `${path} ${JSON.stringify(body).slice(0, 60)}`)
        expect(reply.body.fields.map((f: { path: string }) => f.path)).toEqual(fields)
      }
    })

    it('refuses text over its limit and blank text with 400 VALIDATION', async () => {
      const blanks = ['', ' ', ' \t ', '\u00a0\u3000', '\ufeff', '\u2028']
      const cases: Array<[string, string, string, unknown]> = [
        ['POST', '/api/posts', ann.token, { title: 'x'.repeat(201), content: 'x' }],
        ['POST', '/api/posts', ann.token, { title: '😀'.repeat(201), content: 'x' }],
        ['POST', '/api/posts', ann.token, { title: 'x', content: 'y'.repeat(20_001) }],
        ['PATCH', `/api/posts/${postId}`, ann.token, { content: 'y'.repeat(20_001) }],
        ['POST', `/api/posts/${postId}/comments`, bob.token, { content: 'c'.repeat(2_001) }],
        ['PATCH', `/api/comments/${commentId}`, bob.token, { content: 'c'.repeat(2_001) }],
        ['PATCH', '/api/members/me', ann.token, { nickname: 'n'.repeat(21) }],
        ['PATCH', '/api/members/me', ann.token, { nickname: 'n' }],
        ['POST', '/api/members', '', { email: `${'e'.repeat(250)}@example.com`, password: 'long enough', nickname: fresh('e') }],
        ['POST', '/api/members', '', { email: `${fresh('p')}@example.com`, password: 'p'.repeat(129), nickname: fresh('p') }],
        ['POST', '/api/members', '', { email: `${fresh('p')}@example.com`, password: ' '.repeat(12), nickname: fresh('p') }],
        ['POST', '/api/members', '', { email: `${fresh('p')}@example.com`, password: 'a b c d e f g', nickname: fresh('p') }],
        ['POST', '/api/members', '', { email: `${fresh('p')}@example.com`, password: '\u200b'.repeat(8) + 'abc', nickname: fresh('p') }],
        ['POST', '/api/members', '', { email: `${fresh('p')}@example.com`, password: 'longer pass', nickname: '\u3164\u3164\u3164' }],
        ['POST', '/api/members', '', { email: `${fresh('t')}@example.com`, password: 'long enough', nickname: 'evil\u202Eann' }],
        ...blanks.flatMap((blank): Array<[string, string, string, unknown]> => [
          ['POST', '/api/posts', ann.token, { title: blank, content: 'x' }],
          ['POST', '/api/posts', ann.token, { title: 'x', content: `${blank}\n\r\n${blank}` }],
          ['PATCH', `/api/posts/${postId}`, ann.token, { title: blank }],
          ['POST', `/api/posts/${postId}/comments`, bob.token, { content: blank }],
          ['PATCH', '/api/members/me', ann.token, { nickname: blank }],
        ]),
      ]
      const before = await feedLengths(base, db)
      for (const [method, path, token, body] of cases) {
        expectProblem(await call(method, path, { token: token || undefined, body }), 400, 'VALIDATION', `${path} ${JSON.stringify(body).slice(0, 60)}`)
      }
      expect(await feedLengths(base, db)).toEqual(before)
    })

    it('refuses bodies over 1 MiB with 413 PAYLOAD_TOO_LARGE, declared or chunked, and closes the connection', async () => {
      const url = `${base}/api/posts`
      const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${ann.token}` }
      const padded = (bytes: number) => {
        const json = '{"title":"Padded","content":"to the limit"}'
        return json + ' '.repeat(bytes - json.length)
      }
      const declared = (body: string, extra: Record<string, string> = headers) => rawRequest(url, { headers: { ...extra, 'Content-Length': String(Buffer.byteLength(body)) }, chunks: [body] })
      const chunked = (chunks: string[], extra: Record<string, string> = headers) => rawRequest(url, { headers: { ...extra, 'Transfer-Encoding': 'chunked' }, chunks })
      const big = padded(2 * MiB)
      const cases: Array<[string, () => Promise<RawResponse>]> = [
        ['declared, one byte over', () => declared(padded(MiB + 1))],
        ['declared, 4 MiB', () => declared(padded(4 * MiB))],
        ['declared, anonymous', () => declared(big, { 'Content-Type': 'application/json' })],
        ['chunked, 2 MiB in 64 KiB pieces', () => chunked(Array.from({ length: 32 }, (_, i) => big.slice(i * 64 * 1024, (i + 1) * 64 * 1024)))],
        ['chunked, one piece one byte over', () => chunked([padded(MiB + 1)])],
      ]
      const before = await feedLengths(base, db)
      for (const [name, attempt] of cases) {
        const raw = await attempt()
        expectProblem(fromRaw(raw), 413, 'PAYLOAD_TOO_LARGE', name)
        // The unread rest of the body spoils the connection: a client must not send its next request on it.
        expect(raw.headers.connection, name).toBe('close')
        expect((await call('GET', '/api/members/me', { token: ann.token })).status, `after ${name}`).toBe(200)
      }
      expectProblem(await call('POST', `/api/posts/${postId}/comments`, { token: bob.token, body: { content: 'z'.repeat(MiB) } }), 413, 'PAYLOAD_TOO_LARGE', 'comment')
      expect(await feedLengths(base, db)).toEqual(before)

      // Right at the limit the body is read and the post written, declared or chunked.
      expect((await declared(padded(MiB))).status).toBe(201)
      expect((await chunked([padded(MiB).slice(0, MiB / 2), padded(MiB).slice(MiB / 2)])).status).toBe(201)
      expect(await feedLengths(base, db)).toEqual({ ...before, 'board.post': before['board.post']! + 2 })
    })

    it('refuses NUL, lone surrogates and control characters in every text with 400 VALIDATION', async () => {
      // Raw JSON escapes, sent as written: JSON.stringify would never produce a lone surrogate escape on its own terms.
      const everywhere = ['\\u0000', 'a\\u0000b', '\\ud800', 'x\\udc00y', '\\udc00\\ud800', 'end\\ud83d', '\\u0007', '\\u001b[31mred', '\\u007f', '\\u0085', '\\u009b']
      const singleLine = ['a\\nb', 'a\\tb', 'a\\rb']
      const targets: Array<[string, string, string, (bad: string) => string, string[]]> = [
        ['POST', '/api/posts', ann.token, (bad) => `{"title":"t${bad}","content":"x"}`, singleLine],
        ['POST', '/api/posts', ann.token, (bad) => `{"title":"t","content":"c${bad}"}`, []],
        ['PATCH', `/api/posts/${postId}`, ann.token, (bad) => `{"title":"${bad}"}`, singleLine],
        ['PATCH', `/api/posts/${postId}`, ann.token, (bad) => `{"content":"${bad}"}`, []],
        ['POST', `/api/posts/${postId}/comments`, bob.token, (bad) => `{"content":"${bad}"}`, []],
        ['PATCH', `/api/comments/${commentId}`, bob.token, (bad) => `{"content":"ok ${bad}"}`, []],
        ['PATCH', '/api/members/me', ann.token, (bad) => `{"nickname":"ab${bad}"}`, singleLine],
        ['POST', '/api/members', '', (bad) => `{"email":"${fresh('s')}@example.com","password":"long enough","nickname":"ab${bad}"}`, singleLine],
        ['POST', '/api/members', '', (bad) => `{"email":"${fresh('s')}${bad}@example.com","password":"long enough","nickname":"${fresh('s')}"}`, []],
      ]
      const before = await feedLengths(base, db)
      for (const [method, path, token, body, extra] of targets) {
        for (const bad of [...everywhere, ...extra]) {
          expectProblem(await call(method, path, { token: token || undefined, body: body(bad) }), 400, 'VALIDATION', `${path} ${body(bad).slice(0, 80)}`)
        }
      }
      for (const bad of ['%00', 'ab%07', 'a%0Ab', 'a%E2%80%8Bb']) expectProblem(await call('GET', `/api/members/nicknames/${bad}`), 400, 'VALIDATION', bad)
      expect(await feedLengths(base, db)).toEqual(before)
    })

    it('refuses a login with NUL in the email as invalid, and other odd text as wrong credentials, never a 500', async () => {
      for (const email of [`${ann.email}\\u0000`, `\\u0000`, `a\\u0000b@example.com`]) {
        expectProblem(await call('POST', '/api/auth/login', { body: `{"email":"${email}","password":"correct horse"}` }), 400, 'VALIDATION', email)
      }
      const wrong = [[`\\ud800${ann.email}`, 'correct horse'], [`${ann.email}\\u0007`, 'correct horse'], [ann.email, 'correct\\u0000horse'], [ann.email, '\\udfff'], [ann.email, '']]
      for (const [email, password] of wrong) {
        expectProblem(await call('POST', '/api/auth/login', { body: `{"email":"${email}","password":"${password}"}` }), 401, 'INVALID_CREDENTIALS', `${email} ${password}`)
      }
    })

    it('accepts emoji, right-to-left text and combining marks, stored in NFC and read back exactly', async () => {
      const zalgo = 'Z\u0351\u036b\u0343\u036a a\u0310\u0352l\u0357g\u0311o'
      const cases: Array<[string, unknown, string, string]> = [
        ['mixed scripts', { title: 'café 👩‍👩‍👧 עברית', content: 'שלום \u200fworld\u200e مرحبا 🇰🇷 👍🏽' }, 'café 👩‍👩‍👧 עברית', 'שלום \u200fworld\u200e مرحبا 🇰🇷 👍🏽'],
        ['decomposed accents', { title: 'cafe\u0301 Zoe\u0308', content: 'A\u030a \ufb01' }, 'caf\u00e9 Zo\u00eb', '\u00c5 \ufb01'],
        ['combining marks', { title: zalgo, content: zalgo }, zalgo.normalize('NFC'), zalgo.normalize('NFC')],
        ['escaped surrogate pair', '{"title":"\\ud83d\\ude00 pair","content":"\\ud83d\\udc4d"}', '😀 pair', '👍'],
        ['padding and line breaks', { title: '  padded  ', content: '\n\tindented\r\nlines\t\n' }, 'padded', 'indented\r\nlines'],
        ['longest title in emoji', { title: '😀'.repeat(200), content: 'x'.repeat(20_000) }, '😀'.repeat(200), 'x'.repeat(20_000)],
      ]
      for (const [name, body, title, content] of cases) {
        const created = await call('POST', '/api/posts', { token: ann.token, body })
        expect(created.status, name).toBe(201)
        expect(created.body, name).toMatchObject({ title, content })
        expect(await documentOnceReady(served.client, created.body.postId, created.position), name).toMatchObject({ title, content })
        const listed = await call('GET', `/api/board/posts?limit=1&position=${encodeURIComponent(created.position!)}`)
        expect(listed.body.items[0], name).toMatchObject({ postId: created.body.postId, title })
      }

      const comment = await call('POST', `/api/posts/${postId}/comments`, { token: bob.token, body: { content: '👍🏽 תודה cafe\u0301\n🇰🇷' } })
      expect(comment.status).toBe(201)
      const doc = await documentOnceReady(served.client, postId, comment.position, (d) => d.comments.some((c) => c.commentId === comment.body.commentId))
      expect(doc.comments.find((c) => c.commentId === comment.body.commentId)?.content).toBe('👍🏽 תודה caf\u00e9\n🇰🇷')
    })

    it('accepts nicknames in any script, in NFC, and compares them that way', async () => {
      const zoe = `Zoe\u0308${process.pid % 10_000}y${++unique}`
      const signUp = await call('POST', '/api/members', { body: { email: `${fresh('zoe')}@example.com`, password: 'long enough', nickname: zoe } })
      expect(signUp).toMatchObject({ status: 201, body: { nickname: zoe.normalize('NFC') } })
      expect((await call('GET', `/api/members/nicknames/${encodeURIComponent(zoe)}`)).body).toEqual({ available: false })
      expect((await call('GET', `/api/members/nicknames/${encodeURIComponent(zoe.normalize('NFC'))}`)).body).toEqual({ available: false })
      const hebrew = `עברית${unique}`
      expect(await call('PATCH', '/api/members/me', { token: ann.token, body: { nickname: hebrew } })).toMatchObject({ status: 200, body: { nickname: hebrew } })
      const taken = await call('POST', '/api/members', { body: { email: `${fresh('dup')}@example.com`, password: 'long enough', nickname: zoe.normalize('NFC').toUpperCase() } })
      expectProblem(taken, 409, 'NICKNAME_TAKEN')
      expectProblem(await call('PATCH', '/api/members/me', { token: ann.token, body: { nickname: 'emoji😀' } }), 400, 'VALIDATION')
      expectProblem(await call('PATCH', '/api/members/me', { token: ann.token, body: { nickname: 'zero\u200bwidth' } }), 400, 'VALIDATION')
    })

    it('refuses a title of only invisible format characters, like one of only whitespace', async () => {
      // String.prototype.trim removes Unicode White_Space only; U+200B/U+200D/U+2060/U+200F are format characters.
      for (const title of ['\u200b\u200b', '\u200d', '\u2060', '\u200f', ' \u200b ']) {
        expectProblem(await call('POST', '/api/posts', { token: ann.token, body: { title, content: 'invisible title' } }), 400, 'VALIDATION')
      }
      // Format characters inside visible text stay (emoji sequences); bidirectional marks do not (Bidi_Control).
      const created = await call('POST', '/api/posts', { token: ann.token, body: { title: 'a\u200db \u2060c', content: 'visible' } })
      expect(created).toMatchObject({ status: 201, body: { title: 'a\u200db \u2060c' } })
      expectProblem(await call('POST', '/api/posts', { token: ann.token, body: { title: 'a\u200fb', content: 'visible' } }), 400, 'VALIDATION')
    })

    it('leaves nothing behind after a refused sign-up, post, comment or edit', async () => {
      const carol = await served.client.newMember('carol')
      const last = await served.client.createPost(carol, { title: 'Untouched', content: 'still here' })
      // The list shows nicknames and comment counts from every feed: wait for all of them, not only the post's.
      const session = await everythingSoFar(base, db)
      const list = async () => (await call('GET', `/api/board/posts?limit=100&position=${encodeURIComponent(session)}`)).body
      const unread = async () => (await call('GET', '/api/notifications', { token: carol.token })).body.unread
      await documentOnceReady(served.client, last.body.postId, last.position)
      const before = { feeds: await feedLengths(base, db), list: await list(), unread: await unread() }

      const email = `${fresh('late')}@example.com`
      expectProblem(await call('POST', '/api/members', { body: { email, password: 'long enough', nickname: bob.nickname.toUpperCase() } }), 409, 'NICKNAME_TAKEN')
      expectProblem(await call('POST', '/api/members', { body: { email: bob.email.toUpperCase(), password: 'long enough', nickname: fresh('late') } }), 409, 'EMAIL_TAKEN')
      expectProblem(await call('POST', '/api/auth/login', { body: { email, password: 'long enough' } }), 401, 'INVALID_CREDENTIALS')
      expectProblem(await call('PATCH', '/api/members/me', { token: carol.token, body: { nickname: bob.nickname } }), 409, 'NICKNAME_TAKEN')
      expectProblem(await call('POST', '/api/posts', { token: carol.token, body: '{"title":"half","content":"\\u0000"}' }), 400, 'VALIDATION')
      expectProblem(await call('POST', `/api/posts/${last.body.postId}/comments`, { token: bob.token, body: '{"content":"\\ud800"}' }), 400, 'VALIDATION')
      expectProblem(await call('PATCH', `/api/posts/${last.body.postId}`, { token: carol.token, body: { title: 'fine', content: 'x'.repeat(20_001) } }), 400, 'VALIDATION')
      expectProblem(await call('PATCH', `/api/posts/${last.body.postId}`, { token: bob.token, body: { title: 'not yours' } }), 403, 'FORBIDDEN')
      expectProblem(await call('DELETE', `/api/posts/${last.body.postId}`, { token: bob.token }), 403, 'FORBIDDEN')
      expectProblem(await call('PATCH', `/api/comments/${commentId}`, { token: ann.token, body: { content: 'not yours' } }), 403, 'FORBIDDEN')

      expect(await feedLengths(base, db)).toEqual(before.feeds)
      expect(await list()).toEqual(before.list)
      expect(await unread()).toBe(before.unread)
      expect(await documentOnceReady(served.client, last.body.postId, last.position)).toMatchObject({ title: 'Untouched', content: 'still here', version: 1, commentCount: 0 })
    })

    it('lets exactly one of concurrent sign-ups for one nickname through, and records one member', async () => {
      const nickname = fresh('race')
      const before = await feedLengths(base, db)
      const replies: Reply[] = await Promise.all(
        Array.from({ length: 6 }, (_, i) => call('POST', '/api/members', { body: { email: `${nickname}-${i}@example.com`, password: 'long enough', nickname: i % 2 ? nickname.toUpperCase() : nickname } })),
      )
      expect(replies.filter((r) => r.status === 201)).toHaveLength(1)
      for (const reply of replies.filter((r) => r.status !== 201)) expectProblem(reply, 409, 'NICKNAME_TAKEN')
      expect(await feedLengths(base, db)).toEqual({ ...before, 'identity.member': before['identity.member']! + 1 })
    })
  })
}
