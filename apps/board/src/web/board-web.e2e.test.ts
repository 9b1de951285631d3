import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, openEventStream, testEngines } from '@tidings/testing'
import { strangerToken } from '@tidings/auth/test-kit'
import type { Database } from '@tidings/postgres'
import { documentOnceReady, feedLengths } from '../test-kit/problems'
import { serveBoard, type ServedBoard } from '../test-kit/serve-board'
import type { BoardClient, Member } from '../test-kit/board-client'
import { inputValue, signedUpBrowser, TestBrowser } from './test-browser'

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
/** Nothing of the server's insides may reach a page: no stack frames, no source paths. */
const LEAK = /\n\s+at |\bat [\w.<>$]+ \(|\/src\/|\.[cm]?[jt]sx?:\d|node_modules|node:internal/

let counter = 0
const unique = (name: string) => `${name}${process.pid % 10_000}w${++counter}`

for (const engine of await testEngines()) {
  describe(`the board's web pages on ${engine.name}`, () => {
    let served: ServedBoard
    let db: Database
    let api: BoardClient
    let baseUrl: string
    let ann: TestBrowser
    let annName: string
    let bob: Member

    /** Signs a new member up through the form; the browser is then logged in. */
    async function signedUp(name: string): Promise<{ browser: TestBrowser; nickname: string }> {
      const nickname = unique(name)
      return { browser: await signedUpBrowser(baseUrl, nickname), nickname }
    }

    async function newPost(browser: TestBrowser, title: string, content = 'Some content'): Promise<string> {
      const created = await browser.post('/posts', { title, content })
      expect(created.status, created.text).toBe(303)
      const postId = new RegExp(`^/posts/(${UUID})$`).exec(created.location ?? '')?.[1]
      expect(postId, `Location ${created.location}`).toBeDefined()
      return postId!
    }

    /** How many requests the board's app has answered (the fast paths are not counted). */
    async function appAnswers(): Promise<number> {
      const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
      const counts = metrics.split('\n').filter((line) => line.startsWith('tidings_http_request_duration_seconds_count{') && !line.includes('route="/metrics"'))
      return counts.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
    }

    const headersOf = (page: { headers: Headers }) => Object.fromEntries([...page.headers].filter(([name]) => name !== 'date' && name !== 'keep-alive'))

    beforeAll(async () => {
      ;({ db } = await engine.freshDatabase())
      served = await serveBoard(db)
      api = served.client
      baseUrl = api.baseUrl
      ;({ browser: ann, nickname: annName } = await signedUp('ann'))
      bob = await api.newMember('bob')
    })
    afterAll(() => served?.stop())

    it('signs up through the form: a 303 home and an HttpOnly, SameSite=Lax session cookie for the token’s hour', async () => {
      const browser = new TestBrowser(baseUrl)
      const nickname = unique('new')
      const sentAt = Date.now() / 1000
      const answer = await browser.post('/signup', { email: `${nickname}@example.com`, password: 'correct horse', nickname })
      const answeredAt = Date.now() / 1000
      expect(answer.status).toBe(303)
      expect(answer.location).toBe('/')
      const session = answer.setCookies.find((c) => c.startsWith('tidings_session='))
      const [, token, maxAge] = /^tidings_session=([\w-]+\.[\w-]+\.[\w-]+); Max-Age=(\d+); Path=\/; HttpOnly; SameSite=Lax$/.exec(session ?? '') ?? []
      // The cookie lives as long as its token (an hour), counted from when the page set it.
      const { exp, iat } = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number }
      expect(exp - iat).toBe(3600)
      expect(Number(maxAge)).toBeGreaterThanOrEqual(Math.floor(exp - answeredAt) - 1)
      expect(Number(maxAge)).toBeLessThanOrEqual(Math.ceil(exp - sentAt))
      const home = await browser.get('/')
      expect(home.status).toBe(200)
      expect(home.contentType).toBe('text/html; charset=UTF-8')
      expect(home.text).toContain(`${nickname} Log out`)
      expect(home.html).toContain('data-unread-count="0"')
      expect(home.html).toContain('<script type="module" src="/assets/board.js"></script>')

      // A taken email: the API's 409 and message, the input kept but never the password.
      const again = await new TestBrowser(baseUrl).post('/signup', { email: `${nickname}@example.com`, password: 'secret words', nickname: unique('other') })
      expect(again.status).toBe(409)
      expect(again.html).toMatch(/<div class="alert" role="alert"><p>This email address is already registered<\/p><\/div>/)
      expect(inputValue(again.html, 'email')).toBe(`${nickname}@example.com`)
      expect(inputValue(again.html, 'password')).toBe('')
      expect(again.html).not.toContain('secret words')
      expect(again.setCookies).toEqual([])
    })

    it('logs in (to a same-site next page only) and out', async () => {
      const nickname = unique('login')
      await api.call('POST', '/api/members', { body: { email: `${nickname}@example.com`, password: 'correct horse', nickname } })
      const browser = new TestBrowser(baseUrl)
      const wrong = await browser.post('/login', { email: `${nickname}@example.com`, password: 'wrong horse', next: '/' })
      expect(wrong.status).toBe(401)
      expect(wrong.text).toContain('Email or password is wrong')
      expect(inputValue(wrong.html, 'email')).toBe(`${nickname}@example.com`)

      const form = await browser.get('/login?next=%2Fposts%2Fnew')
      expect(inputValue(form.html, 'next')).toBe('/posts/new')
      const loggedIn = await browser.post('/login', { email: `${nickname}@example.com`, password: 'correct horse', next: '/posts/new' })
      expect([loggedIn.status, loggedIn.location]).toEqual([303, '/posts/new'])
      expect((await browser.get('/posts/new')).status).toBe(200)

      for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/%0A/evil.example'.replace('%0A', '\n')]) {
        expect(inputValue((await browser.get(`/login?next=${encodeURIComponent(next)}`)).html, 'next'), next).toBe('/')
        const answer = await browser.post('/login', { email: `${nickname}@example.com`, password: 'correct horse', next })
        expect([answer.status, answer.location], next).toEqual([303, '/'])
      }

      const out = await browser.post('/logout', {})
      expect([out.status, out.location]).toEqual([303, '/'])
      expect(out.setCookies).toContainEqual(expect.stringMatching(/^tidings_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax$/))
      expect(browser.cookies.has('tidings_session')).toBe(false)
      expect((await browser.get('/')).text).toContain('Log in Sign up')
    })

    it('shows a post created through the form in the list right after the redirect (read-your-writes)', async () => {
      const title = `Fresh ${unique('p')}`
      const postId = await newPost(ann, title)
      expect(ann.cookies.get('tidings_positions')).toMatch(/board\.post%40\d+-\d+/)
      const home = await ann.get('/')
      expect(home.status).toBe(200)
      expect(home.html).toContain(`<a href="/posts/${postId}">${title}</a>`)
      expect(home.text).toContain(`${title} by ${annName} · 0 comments ·`)
      expect(home.html).toMatch(new RegExp(`<time datetime="\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z">\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC</time>`))
      const page = await ann.get(`/posts/${postId}`)
      expect(page.status).toBe(200)
      expect(page.html).toContain(`<title>${title} · Tidings board</title>`)
    })

    it('pages the list with "Older posts"', async () => {
      const { browser } = await signedUp('pager')
      for (let i = 0; i < 21; i++) await newPost(browser, `Paged ${i}`)
      // Paging is under test here, not read-your-writes (tested above): on a loaded PostgreSQL server the
      // list's wait for this browser's position may time out, so wait for the read side to have them all.
      const first = await eventually(() => browser.get('/'), (page) => page.text.includes('Paged 20') && page.html.includes('rel="next">Older posts</a>'), { what: 'the list with all 21 posts' })
      const before = new RegExp(`<a href="/\\?before=(${UUID})" rel="next">Older posts</a>`).exec(first.html)?.[1]
      expect(before).toBeDefined()
      expect(first.text).toContain('Paged 20')
      expect(first.text).not.toContain('Paged 0 ')
      const older = await browser.get(`/?before=${before}`)
      expect(older.status).toBe(200)
      expect(older.text).toContain('Paged 0 ')
      expect(older.text).not.toContain('Paged 20')
      expect((await browser.get('/?before=nope')).status).toBe(400)
    })

    it('serves guests the list and a post as rendered once, with an ETag (304 to a browser that holds it), until what they show changes', async () => {
      const postId = await newPost(ann, `Guests read ${unique('g')}`)
      const guest = new TestBrowser(baseUrl)
      for (const path of ['/', `/posts/${postId}`]) {
        const first = await eventually(() => guest.get(path), (page) => page.status === 200 && page.html.includes(postId), { what: `${path} with the post` })
        const etag = first.headers.get('etag')
        expect(etag).toMatch(/^"[\w-]{22}"$/)
        expect(first.headers.get('cache-control')).toBe('no-cache')
        expect(first.headers.get('vary')).toBe('Cookie')
        expect(first.html).not.toContain('Log out')
        // Once held, the page is answered before the app (no dispatch, no API call), byte for byte and
        // header for header as the app answered it.
        const dispatched = await appAnswers()
        const again = await guest.get(path)
        expect([again.status, again.headers.get('etag'), again.html]).toEqual([200, etag, first.html])
        expect(headersOf(again)).toEqual(headersOf(first))
        const held = await guest.get(path, { 'If-None-Match': etag! })
        expect([held.status, held.html, held.headers.get('etag'), held.headers.get('vary')]).toEqual([304, '', etag, 'Cookie'])
        expect(await appAnswers()).toBe(dispatched)
        // A browser with a cookie of ours is the app's to answer, even a stale one.
        const positioned = await guest.get(path, { Cookie: 'tidings_positions=garbage' })
        expect([positioned.status, positioned.headers.get('etag')]).toEqual([200, etag])
        expect(await appAnswers()).toBeGreaterThan(dispatched)
        // A member is never served the guests' page, nor a 304 for it: theirs shows who they are.
        const mine = await ann.get(path, { 'If-None-Match': etag! })
        expect(mine.status).toBe(200)
        expect(mine.text).toContain(`${annName} Log out`)
        expect(mine.headers.get('etag')).toBeNull()
        expect(mine.headers.get('cache-control')).toBe('no-store')
      }
      // A comment changes both: the browser's copy is no longer current.
      const [listTag, postTag] = [(await guest.get('/')).headers.get('etag')!, (await guest.get(`/posts/${postId}`)).headers.get('etag')!]
      const comment = await api.addComment(bob, postId, 'A guest will see this')
      await documentOnceReady(api, postId, comment.position, (d) => d.commentCount === 1)
      const post = await eventually(() => guest.get(`/posts/${postId}`, { 'If-None-Match': postTag }), (page) => page.status === 200, { what: 'the post page to change' })
      expect(post.text).toContain('A guest will see this')
      expect(post.headers.get('etag')).not.toBe(postTag)
      const list = await eventually(() => guest.get('/', { 'If-None-Match': listTag }), (page) => page.status === 200, { what: 'the list to change' })
      expect(list.html).toContain(postId)
      expect(list.headers.get('etag')).not.toBe(listTag)
    })

    it('shows the comments of other members, each with its anchor', async () => {
      const postId = await newPost(ann, 'Discuss')
      const comment = await api.addComment(bob, postId, 'Bob says <b>hi</b>')
      await documentOnceReady(api, postId, comment.position, (d) => d.commentCount === 1)
      const page = await ann.get(`/posts/${postId}`)
      expect(page.status).toBe(200)
      expect(page.html).toContain(`<li id="comment-${comment.body.commentId}">`)
      expect(page.text).toContain(`1 comment ${bob.nickname} ·`)
      expect(page.html).toContain('Bob says &lt;b&gt;hi&lt;/b&gt;')
      // Ann wrote the post, not the comment: hers are the post's controls only.
      expect(page.html).toContain(`<a href="/posts/${postId}/edit">Edit post</a>`)
      expect(page.html).not.toContain(`/comments/${comment.body.commentId}/edit`)
      expect(page.html).not.toContain(`/comments/${comment.body.commentId}/delete`)
    })

    it('adds, edits and deletes a comment through the forms; an empty one is refused with the API’s 400 and message', async () => {
      const postId = await newPost(ann, 'Comment here')
      const empty = await ann.post(`/posts/${postId}/comments`, { content: '   ' })
      expect(empty.status).toBe(400)
      expect(empty.html).toMatch(/<div class="alert" role="alert"><p>The request is not valid<\/p><ul><li>content: must be at least 1 characters<\/li><li>content: must contain something visible<\/li><\/ul><\/div>/)
      expect(empty.html).toContain(`action="/posts/${postId}/comments"`)

      const added = await ann.post(`/posts/${postId}/comments`, { content: 'My own comment' })
      expect(added.status).toBe(303)
      const commentId = new RegExp(`^/posts/${postId}#comment-(${UUID})$`).exec(added.location ?? '')?.[1]
      expect(commentId, `Location ${added.location}`).toBeDefined()
      const page = await ann.get(`/posts/${postId}`)
      expect(page.html).toContain(`<li id="comment-${commentId}">`)
      expect(page.text).toContain('My own comment')

      const edited = await ann.post(`/comments/${commentId}/edit`, { content: 'My edited comment', postId })
      expect([edited.status, edited.location]).toEqual([303, `/posts/${postId}#comment-${commentId}`])
      expect((await ann.get(`/posts/${postId}`)).text).toContain('· edited My edited comment Edit comment')

      const bobBrowser = (await signedUp('bobweb')).browser
      const notYours = await bobBrowser.post(`/comments/${commentId}/delete`, { postId })
      expect(notYours.status).toBe(403)
      expect(notYours.text).toContain(`Only the author of comment ${commentId} may change it`)

      const deleted = await ann.post(`/comments/${commentId}/delete`, { postId })
      expect([deleted.status, deleted.location]).toEqual([303, `/posts/${postId}#comments`])
      const after = await ann.get(`/posts/${postId}`)
      expect(after.html).not.toContain(`comment-${commentId}`)
      expect(after.text).toContain('0 comments')
    })

    it('lets the writer edit and delete a post', async () => {
      const postId = await newPost(ann, 'Draft', 'first words')
      const form = await ann.get(`/posts/${postId}/edit`)
      expect(form.status).toBe(200)
      expect(inputValue(form.html, 'title')).toBe('Draft')
      expect(form.html).toContain('first words</textarea>')
      const edited = await ann.post(`/posts/${postId}/edit`, { title: 'Final', content: 'better words' })
      expect([edited.status, edited.location]).toEqual([303, `/posts/${postId}`])
      const page = await ann.get(`/posts/${postId}`)
      expect(page.html).toContain('<h1>Final</h1>')
      expect(page.text).toContain('better words')
      expect(page.text).toMatch(/· edited \d{4}-/)

      const deleted = await ann.post(`/posts/${postId}/delete`, {})
      expect([deleted.status, deleted.location]).toEqual([303, '/'])
      expect((await ann.get('/')).html).not.toContain(`/posts/${postId}"`)
      const gone = await ann.get(`/posts/${postId}`)
      expect(gone.status).toBe(404)
      expect(gone.contentType).toBe('text/html; charset=UTF-8')
    })

    it('shows no Edit to others, and an edit by them gets the API’s 403 message with their input kept', async () => {
      const postId = await newPost(ann, 'Hands off')
      const { browser: other } = await signedUp('other')
      // Another member has no position of ann's write: the page shows it once the read side has it.
      const page = await eventually(() => other.get(`/posts/${postId}`), (p) => p.status !== 404, { what: 'the post for another member' })
      expect(page.status).toBe(200)
      expect(page.text).not.toContain('Edit post')
      expect(page.html).not.toContain(`/posts/${postId}/edit`)
      expect(page.html).not.toContain(`/posts/${postId}/delete`)
      expect((await other.get(`/posts/${postId}/edit`)).status).toBe(403)

      const edit = await other.post(`/posts/${postId}/edit`, { title: 'Hijacked', content: 'mine now' })
      expect(edit.status).toBe(403)
      expect(edit.html).toContain(`<div class="alert" role="alert"><p>Only the writer of post ${postId} may change it</p></div>`)
      expect(inputValue(edit.html, 'title')).toBe('Hijacked')
      const del = await other.post(`/posts/${postId}/delete`, {})
      expect(del.status).toBe(403)
      expect(del.text).toContain(`Only the writer of post ${postId} may change it`)
      expect((await ann.get(`/posts/${postId}`)).html).toContain('<h1>Hands off</h1>')
    })

    it('escapes everything members write', async () => {
      const title = '<script>alert(1)</script> & "quotes"'
      const postId = await newPost(ann, title, '<img src=x onerror=alert(2)>')
      for (const path of ['/', `/posts/${postId}`, `/posts/${postId}/edit`]) {
        const page = await ann.get(path)
        expect(page.html, path).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; ')
        expect(page.html, path).not.toContain('<script>alert(1)')
        expect(page.html, path).not.toContain('<img src=x')
      }
    })

    it('refuses a cross-site form with 403, and leaves the API’s own answers to form bodies alone', async () => {
      const before = await ann.get('/')
      const forged: Array<Record<string, string>> = [{ Origin: 'http://evil.example' }, { Origin: 'null' }, { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' }]
      for (const headers of forged) {
        const answer = await ann.post('/posts', { title: 'Forged', content: 'x' }, headers)
        expect(answer.status, JSON.stringify(headers)).toBe(403)
        expect(answer.contentType).toBe('text/html; charset=UTF-8')
        expect(answer.text).toContain('This form was sent from another site, so it was refused.')
      }
      expect((await ann.post('/logout', {}, { Origin: 'http://evil.example' })).status).toBe(403)
      expect(ann.cookies.has('tidings_session')).toBe(true)
      expect((await ann.get('/')).html.match(/<li>/g)?.length).toBe(before.html.match(/<li>/g)?.length)
      // The guard sits on the pages' routes only: the API still answers a form body with its own 400.
      const viaApi = await fetch(`${baseUrl}/api/posts`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${bob.token}`, 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://evil.example' },
        body: 'title=x&content=y',
      })
      expect(viaApi.status).toBe(400)
      expect(((await viaApi.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE')
    })

    it('sends a visitor without a session to log in, coming back afterwards', async () => {
      const guest = new TestBrowser(baseUrl)
      for (const [path, next] of [
        ['/posts/new', '%2Fposts%2Fnew'],
        ['/notifications', '%2Fnotifications'],
      ]) {
        const answer = await guest.get(path!)
        expect([answer.status, answer.location]).toEqual([303, `/login?next=${next}`])
      }
      const postId = await newPost(ann, 'Open to all')
      // The guest has no position of ann's write: the page shows it once the read side has it.
      const page = await eventually(() => guest.get(`/posts/${postId}`), (p) => p.status !== 404, { what: 'the post for a guest' })
      expect(page.status).toBe(200)
      expect(page.html).toContain(`<a href="/login?next=%2Fposts%2F${postId}">Log in</a> to comment.`)
      const comment = await guest.post(`/posts/${postId}/comments`, { content: 'anonymous' }, { Referer: `${baseUrl}/posts/${postId}` })
      expect([comment.status, comment.location]).toEqual([303, `/login?next=%2Fposts%2F${postId}`])
      const elsewhere = await guest.post(`/posts/${postId}/comments`, { content: 'anonymous' }, { Referer: 'http://evil.example/x' })
      expect([elsewhere.status, elsewhere.location]).toEqual([303, '/login'])
    })

    it('treats an expired or garbage session cookie as signed out, and clears it', async () => {
      const me = await api.call<{ memberId: string }>('GET', '/api/members/me', { token: bob.token })
      const expired = (await served.board.services.identity.issue(me.body.memberId, { now: new Date(Date.now() - 2 * 3600_000) })).token
      const forged = await strangerToken(me.body.memberId)
      for (const token of [expired, forged, 'a.b.c']) {
        const browser = new TestBrowser(baseUrl)
        browser.cookies.set('tidings_session', token)
        const home = await browser.get('/')
        expect(home.status).toBe(200)
        expect(home.text).toContain('Log in Sign up')
        expect(home.html).not.toContain('board.js')
        expect(home.setCookies).toContainEqual(expect.stringMatching(/^tidings_session=; Max-Age=0;/))
        browser.cookies.set('tidings_session', token)
        const protectedPage = await browser.get('/notifications')
        expect([protectedPage.status, protectedPage.location]).toEqual([303, '/login?next=%2Fnotifications'])
        expect(browser.cookies.has('tidings_session')).toBe(false)
      }
      // Not even the shape of a token (a line break would break the Authorization header): ignored, not a 500.
      for (const garbage of ['%0Ainjected', 'x'.repeat(5000), '%E0%A4%A']) {
        const browser = new TestBrowser(baseUrl)
        browser.cookies.set('tidings_session', garbage)
        browser.cookies.set('tidings_positions', `${garbage},board.post%40nope`)
        const home = await browser.get('/')
        expect(home.status, garbage.slice(0, 20)).toBe(200)
        expect(home.text).toContain('Log in Sign up')
      }
    })

    it('answers an unknown post, and anything not a post id, with an HTML 404 page', async () => {
      for (const path of ['/posts/0190a8f2-0000-7000-8000-000000000000', '/posts/not-a-uuid', '/posts/..%2Fmembers%2Fme', '/posts/0190a8f2-0000-7000-8000-000000000000/edit']) {
        const answer = await ann.get(path)
        expect(answer.status, path).toBe(404)
        expect(answer.contentType, path).toBe('text/html; charset=UTF-8')
        expect(answer.html, path).toMatch(/^<!DOCTYPE html><html lang="en">/)
        expect(answer.text, path).toContain('Not found There is no such post. It may have been deleted.')
        expect(answer.text, path).toContain(`${annName} Log out`)
        expect(answer.html, path).not.toMatch(LEAK)
      }
      const comment = await ann.post('/posts/0190a8f2-0000-7000-8000-000000000000/comments', { content: 'into the void' })
      expect(comment.status).toBe(404)
    })

    it('refuses a body over 1 MiB with 413, and a form without its fields with 400', async () => {
      const big = await ann.post('/posts', `title=big&content=${'x'.repeat(1024 * 1024 + 1)}`)
      expect(big.status).toBe(413)
      for (const form of ['title=only', 'title=a&title=b&content=c', '']) {
        const answer = await ann.post('/posts', form)
        expect(answer.status, form).toBe(400)
        expect(answer.html, form).toContain('<div class="alert" role="alert"><p>The form was not filled in as expected. Please try again.</p></div>')
      }
      const file = new FormData()
      file.append('title', 'a title')
      file.append('content', new Blob(['file content']), 'content.txt')
      const multipart = await fetch(`${baseUrl}/posts`, { method: 'POST', body: file, headers: { Cookie: ann.cookieHeader(), Origin: baseUrl }, redirect: 'manual' })
      expect(multipart.status).toBe(400)
    })

    it('refuses a form whose text is not UTF-8 (%FF or a raw 0xFF byte, url-encoded or multipart) with 400, storing nothing', async () => {
      const tag = unique('utf')
      const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
      const boundary = 'utf8Boundary'
      const multipart = bytes(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${tag} `, [0xff], `\r\n--${boundary}\r\nContent-Disposition: form-data; name="content"\r\n\r\nx\r\n--${boundary}--\r\n`)
      const before = await feedLengths(baseUrl, db)
      const refused: Array<[string, TestBrowser, string | Uint8Array, Record<string, string>?]> = [
        ['a post, %FF', ann, `title=${tag}%FF&content=x`],
        ['a post, raw 0xFF', ann, bytes(`title=${tag}`, [0xff], '&content=x')],
        ['a post, multipart', ann, multipart, { 'Content-Type': `multipart/form-data; boundary=${boundary}` }],
        ['a sign-up, %FF in the nickname', new TestBrowser(baseUrl), `email=${tag}%40example.com&password=correct+horse&nickname=${tag}%FF`],
      ]
      for (const [label, browser, body, headers] of refused) {
        const answer = await browser.post(label.startsWith('a sign-up') ? '/signup' : '/posts', body, headers)
        expect(answer.status, `${label}: ${answer.text}`).toBe(400)
        expect(answer.contentType, label).toBe('text/html; charset=UTF-8')
        expect(answer.text, label).toContain('The request body is not valid UTF-8')
        expect(answer.html, label).not.toMatch(LEAK)
      }
      expect(await feedLengths(baseUrl, db)).toEqual(before)
      expect((await db.query(`SELECT title FROM board_post.posts WHERE title LIKE $1`, [`${tag}%`])).rows).toEqual([])
      expect((await db.query(`SELECT nickname FROM identity_member.members WHERE email LIKE $1`, [`${tag}%`])).rows).toEqual([])
      // UTF-8, percent-encoded or not, still goes through as it was typed.
      const created = await ann.post('/posts', bytes(`title=${tag}+caf%C3%A9+`, [0xe2, 0x82, 0xac], '&content=x'))
      expect(created.status, created.text).toBe(303)
      expect((await db.query(`SELECT title FROM board_post.posts WHERE title LIKE $1`, [`${tag}%`])).rows).toEqual([{ title: `${tag} café €` }])
    })

    it('lists notifications, marks them read, and relays the live stream of them', async () => {
      const { browser: writer } = await signedUp('writer')
      const postId = await newPost(writer, 'Tell me')
      expect((await fetch(`${baseUrl}/notifications/stream`)).status).toBe(401)

      const stream = await openEventStream(`${baseUrl}/notifications/stream`, { headers: { Cookie: writer.cookieHeader() } })
      try {
        expect(stream.response.status).toBe(200)
        expect(stream.response.headers.get('content-type')).toBe('text/event-stream')
        expect(stream.response.headers.get('cache-control')).toBe('no-cache')
        expect(JSON.parse((await stream.next('ready')).data)).toEqual({ unread: 0 })
        const comment = await api.addComment(bob, postId, 'You have mail')
        const pushed = JSON.parse((await stream.next('notification')).data)
        expect(pushed).toMatchObject({ postId, commentId: comment.body.commentId, postTitle: 'Tell me', actor: { nickname: bob.nickname }, read: false })
        expect(served.board.services.notification.hub.streams).toBe(1)
      } finally {
        stream.close()
      }
      // The browser went away: the relayed API stream ends with it (its hub subscription is gone).
      await eventually(() => served.board.services.notification.hub.streams, (n) => n === 0, { what: 'the relayed stream to end' })

      const page = await writer.get('/notifications')
      expect(page.status).toBe(200)
      expect(page.html).toContain('<a href="/notifications" aria-current="page">')
      expect(page.html).toContain('data-unread-count="1"')
      expect(page.text).toContain(`New: ${bob.nickname} commented on Tell me`)
      const read = new RegExp(`<form method="post" action="(/notifications/${UUID}/read)">`).exec(page.html)?.[1]
      expect(read).toBeDefined()
      expect(await writer.post(read!, {})).toMatchObject({ status: 303, location: '/notifications' })
      const after = await writer.get('/notifications')
      expect(after.html).toContain('data-unread-count="0"')
      expect(after.html).not.toContain('/read"')
      expect((await ann.post(read!, {})).status).toBe(404)
    })

    it('serves the browser script', async () => {
      const script = await fetch(`${baseUrl}/assets/board.js`)
      expect(script.status).toBe(200)
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
      expect(script.headers.get('cache-control')).toBe('public, max-age=300')
      const text = await script.text()
      expect(text).toContain("new EventSource('/notifications/stream')")
      expect(text).toContain('[data-unread-count]')
      expect(text).toContain('[data-notification-toast]')
    })
  })
}
