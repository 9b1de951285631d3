import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import { strangerToken } from '@tidings/auth/test-kit'
import type { Database } from '@tidings/postgres'
import { serveBoard, type ServedBoard } from '../test-kit/serve-board'
import type { BoardClient, Member } from '../test-kit/board-client'
import { signedUpBrowser, TestBrowser } from './test-browser'

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
/** Nothing of the server's insides may reach a page: no stack frames, no source paths. */
const LEAK = /\n\s+at |\bat [\w.<>$]+ \(|\/src\/|\.[cm]?[jt]sx?:\d|node_modules|node:internal/

let counter = 0
const unique = (name: string) => `${name}${process.pid % 10_000}f${++counter}`

/** An answer read off the socket as sent: every header line (repeated ones too) and the body's bytes. */
interface RawAnswer {
  status: number
  headers: Array<[string, string]>
  body: Buffer
  text: string
  header(name: string): string | undefined
}

/**
 * One request written on a socket by hand, so that nothing normalises it on the way: the path as given
 * (`//`, `%70`), header lines repeated or odd, HEAD. The connection closes after it.
 */
function rawRequest(port: number, method: string, path: string, headerLines: readonly string[] = []): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const all = Buffer.concat(chunks)
      const split = all.indexOf('\r\n\r\n')
      const [statusLine, ...lines] = all.subarray(0, split).toString('latin1').split('\r\n')
      const headers = lines.map((line): [string, string] => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()])
      let body: Buffer = all.subarray(split + 4)
      if (headers.some(([name, value]) => name === 'transfer-encoding' && value === 'chunked')) body = unchunked(body)
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body,
        text: body.toString('utf8'),
        header: (name) => headers.find(([n]) => n === name.toLowerCase())?.[1],
      })
    })
    socket.write([`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...headerLines, '', ''].join('\r\n'))
  })
}

function unchunked(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const end = body.indexOf('\r\n', at)
    const size = parseInt(body.subarray(at, end).toString('latin1'), 16)
    if (!size) return Buffer.concat(parts)
    parts.push(body.subarray(end + 2, end + 2 + size))
    at = end + 2 + size + 2
  }
}

/** The headers both answers must agree on: all but the moment and the connection's. */
const comparable = (answer: RawAnswer) => answer.headers.filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)).sort(([a], [b]) => a.localeCompare(b))

/**
 * Attacks on the guests' pages served before the app (`guestPagesFastPath`): whatever a request carries —
 * cookies in any spelling, odd paths, HEAD, any If-None-Match — a guest gets the guests' current page (or
 * the app's answer), a member their own page, and never a stale page once the read side has moved on.
 */
for (const engine of await testEngines()) {
  describe(`guests' pages before the app under attack on ${engine.name}`, () => {
    let served: ServedBoard
    let db: Database
    let api: BoardClient
    let baseUrl: string
    let port: number
    let ann: TestBrowser
    let annName: string
    let bob: Member
    /** ann's session cookie's value: a member's token. */
    let token: string

    async function signedUp(name: string): Promise<{ browser: TestBrowser; nickname: string }> {
      const nickname = unique(name)
      return { browser: await signedUpBrowser(baseUrl, nickname), nickname }
    }

    async function newPost(browser: TestBrowser, title: string): Promise<string> {
      const created = await browser.post('/posts', { title, content: 'Some content' })
      expect(created.status, created.text).toBe(303)
      return new RegExp(`^/posts/(${UUID})$`).exec(created.location ?? '')![1]!
    }

    /** How many requests the board's app has answered (the fast paths are not counted). */
    async function appAnswers(): Promise<number> {
      const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
      const counts = metrics.split('\n').filter((line) => line.startsWith('tidings_http_request_duration_seconds_count{') && !line.includes('route="/metrics"'))
      return counts.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
    }

    /** A post whose guests' pages (`/` and its own) are held and current, with what a guest is served for each. */
    async function heldPost(title: string) {
      const postId = await newPost(ann, title)
      const guest = new TestBrowser(baseUrl)
      const list = await eventually(() => guest.get('/'), (page) => page.status === 200 && page.html.includes(postId), { what: 'the guests\' list with the post' })
      const post = await eventually(() => guest.get(`/posts/${postId}`), (page) => page.status === 200, { what: 'the guests\' post page' })
      // Served again: now from the held copy.
      expect((await guest.get(`/posts/${postId}`)).headers.get('etag')).toBe(post.headers.get('etag'))
      return { postId, guest, list, post, pages: { '/': list, [`/posts/${postId}`]: post } as Record<string, typeof post> }
    }

    /** What a member must get: their own page, rendered for them, never kept by anyone. */
    function expectMemberPage(answer: { status: number; text: string; header(name: string): string | undefined }, label: string) {
      expect([answer.status, answer.header('etag'), answer.header('cache-control')], label).toEqual([200, undefined, 'no-store'])
      expect(answer.text, label).toContain('Log out')
      expect(answer.text, label).toContain(annName)
    }

    beforeAll(async () => {
      ;({ db } = await engine.freshDatabase())
      served = await serveBoard(db)
      api = served.client
      baseUrl = api.baseUrl
      port = Number(new URL(baseUrl).port)
      ;({ browser: ann, nickname: annName } = await signedUp('ann'))
      token = ann.cookies.get('tidings_session')!
      bob = await api.newMember('bob')
    })
    afterAll(() => served?.stop())

    it('gives a member their own page whichever way the Cookie header carries the session, and never the guests\' ETag or a 304', async () => {
      const { postId, pages } = await heldPost('Cookie spellings')
      const spellings: Array<[string, string[]]> = [
        ['plain', [`Cookie: tidings_session=${token}`]],
        ['among others, no space', [`Cookie: a=1;tidings_session=${token};b=2`]],
        ['padded', [`Cookie:    tidings_session=${token}   `]],
        ['spaces around =', [`Cookie: a=1; tidings_session =${token}`]],
        ['a second Cookie header', ['Cookie: theme=dark', `Cookie: tidings_session=${token}`]],
        ['an empty Cookie header first', ['Cookie: ', `Cookie: tidings_session=${token}`]],
        ['with positions', [`Cookie: tidings_positions=garbage; tidings_session=${token}`]],
      ]
      for (const path of ['/', `/posts/${postId}`, `/posts/${postId.toUpperCase()}`, `/posts/${postId}?x=1`]) {
        const guestTag = pages[path.split('?')[0]!.toLowerCase()]!.headers.get('etag')!
        for (const [name, lines] of spellings) {
          for (const ifNoneMatch of [[], [`If-None-Match: ${guestTag}`], ['If-None-Match: *']]) {
            expectMemberPage(await rawRequest(port, 'GET', path, [...lines, ...ifNoneMatch]), `${path} ${name} ${ifNoneMatch.join()}`)
          }
        }
        // HEAD: the member's headers, no body.
        const head = await rawRequest(port, 'HEAD', path, [`Cookie: tidings_session=${token}`, `If-None-Match: ${guestTag}`])
        expect([head.status, head.header('etag'), head.header('cache-control'), head.body.length], `HEAD ${path}`).toEqual([200, undefined, 'no-store', 0])
      }
    })

    it('answers a guest whose Cookie header carries none of ours (or one the app does not read) the guests\' current page, as the app would', async () => {
      const { postId, pages } = await heldPost('Guest spellings')
      for (const path of ['/', `/posts/${postId}`]) {
        const page = pages[path]!
        const etag = page.headers.get('etag')!
        for (const lines of [
          [],
          ['Cookie: '],
          ['Cookie: theme=dark; lang=en'],
          ['Cookie: theme=dark', 'Cookie: lang=en'],
          [`Cookie: Tidings_Session=${token}`], // another cookie: names are case-sensitive
          [`Cookie: TIDINGS_SESSION=${token}`],
          [`Cookie: __Host-tidings_session=${token}`], // not this (plain HTTP) board's spelling
          [`Cookie: tidings_session=not-a-token`],
        ]) {
          const answer = await rawRequest(port, 'GET', path, lines)
          expect([answer.status, answer.header('etag'), answer.header('cache-control'), answer.header('vary')], `${path} ${lines.join(' | ')}`).toEqual([200, etag, 'no-cache', 'Cookie'])
          expect(answer.text, `${path} ${lines.join(' | ')}`).toBe(page.html)
        }
      }
    })

    it('serves the held page header for header and byte for byte as the app does, 200 and 304 alike, and HEAD without a body', async () => {
      const { postId } = await heldPost('Same answer')
      for (const path of ['/', `/posts/${postId}`]) {
        // A cookie named like ours (that the app does not read here) sends the request to the app, which treats it as a guest's.
        const toTheApp = ['Cookie: __Host-tidings_session=x']
        // (A hot copy lives 10 s: the first read after that goes to the app and fills it again.)
        const { answer: fast } = await eventually(
          async () => {
            const before = await appAnswers()
            const answer = await rawRequest(port, 'GET', path)
            return { answer, beforeTheApp: (await appAnswers()) === before }
          },
          (served) => served.beforeTheApp,
          { what: `${path} answered before the app` },
        )
        const app = await rawRequest(port, 'GET', path, toTheApp)
        expect(fast.status).toBe(200)
        expect(comparable(fast)).toEqual(comparable(app))
        expect(fast.body.equals(app.body)).toBe(true)
        const etag = fast.header('etag')!
        const fast304 = await rawRequest(port, 'GET', path, [`If-None-Match: ${etag}`])
        const app304 = await rawRequest(port, 'GET', path, [...toTheApp, `If-None-Match: ${etag}`])
        expect([fast304.status, fast304.body.length, app304.status]).toEqual([304, 0, 304])
        expect(comparable(fast304)).toEqual(comparable(app304))
        // HEAD goes to the app: the GET's headers, no body.
        for (const ifNoneMatch of [[], [`If-None-Match: ${etag}`]]) {
          const head = await rawRequest(port, 'HEAD', path, ifNoneMatch)
          expect([head.status, head.header('etag'), head.header('vary'), head.body.length], `HEAD ${path} ${ifNoneMatch.join()}`).toEqual([ifNoneMatch.length ? 304 : 200, etag, 'Cookie', 0])
        }
      }
    })

    it('answers If-None-Match as RFC 9110 says: *, weak tags and lists match; garbage gets the page, never an error', async () => {
      const { postId, pages } = await heldPost('Validators')
      for (const path of ['/', `/posts/${postId}`]) {
        const etag = pages[path]!.headers.get('etag')!
        for (const matching of ['*', etag, `W/${etag}`, `"a", ${etag}`, `"a",${etag} , "b"`, ` ${etag} `]) {
          const answer = await rawRequest(port, 'GET', path, [`If-None-Match: ${matching}`])
          expect([answer.status, answer.body.length, answer.header('etag')], `${path} ${matching}`).toEqual([304, 0, etag])
        }
        // Two If-None-Match lines are one list.
        const split = await rawRequest(port, 'GET', path, ['If-None-Match: "a"', `If-None-Match: ${etag}`])
        expect(split.status).toBe(304)
        for (const other of ['', 'garbage', '"', 'W/', etag.slice(1, -1), `${etag}x`, `w/${etag}`, '"a", "b"', `W/"${'x'.repeat(4_000)}"`, ',,,,']) {
          const answer = await rawRequest(port, 'GET', path, [`If-None-Match: ${other}`])
          expect([answer.status, answer.header('etag')], `${path} ${other.slice(0, 30)}`).toEqual([200, etag])
          expect(answer.text).toBe(pages[path]!.html)
        }
      }
    })

    it('sends odd paths to the app: the same post\'s page, the older posts, or a plain refusal, never a 500 or a trace', async () => {
      const { postId, list, post } = await heldPost('Odd paths')
      const samePost = [`/posts/${postId.toUpperCase()}`, `/posts/${postId}?x=1`, `/%70osts/${postId}`, `/posts/%${postId.charCodeAt(0).toString(16)}${postId.slice(1)}`]
      for (const path of samePost) {
        const answer = await rawRequest(port, 'GET', path)
        if ([301, 302, 307, 308].includes(answer.status)) expect(answer.header('location'), path).toBe(`/posts/${postId}`)
        else {
          expect([answer.status, answer.header('etag')], path).toEqual([200, post.headers.get('etag')])
          expect(answer.text, path).toBe(post.html)
        }
      }
      for (const path of ['/?x=1', '/?', '/?before=']) {
        const answer = await rawRequest(port, 'GET', path)
        expect([answer.status, answer.header('etag')], path).toEqual([200, list.headers.get('etag')])
      }
      for (const path of [`/posts/${postId}/`, '//', `//posts/${postId}`, `/posts/${postId}%2F`, `/posts/${postId}/..`, '/posts/', '/posts/not-an-id', '/%', '/posts/%zz', `/?before=${'%'}`, '/?before=nope']) {
        const answer = await rawRequest(port, 'GET', path)
        expect(answer.status, `${path} → ${answer.status} ${answer.text.slice(0, 200)}`).toBeLessThan(500)
        expect(answer.text, path).not.toMatch(LEAK)
        expect(answer.header('etag') === undefined || answer.text === post.html || answer.text === list.html, `${path} was given a page under an ETag`).toBe(true)
      }
      // The older posts are a page of their own: they never take the place of the list held for `/`.
      const older = await rawRequest(port, 'GET', `/?before=${postId}`)
      expect([older.status, older.header('etag'), older.header('cache-control')]).toEqual([200, undefined, 'no-store'])
      const home = await rawRequest(port, 'GET', '/')
      expect([home.header('etag'), home.text]).toEqual([list.headers.get('etag'), list.html])
    })

    it('shows a guest the new comment as soon as the read side has applied it, and never the old page after', async () => {
      const { postId, guest, list, post } = await heldPost('Commented')
      const comment = await api.addComment(bob, postId, 'Fresh words for guests')
      expect(comment.status).toBe(201)
      // Read with the comment's position: it returns once the read side has applied it (and evicted).
      expect((await api.document(postId, comment.position)).body.commentCount).toBe(1)
      for (let i = 0; i < 5; i++) {
        const page = await guest.get(`/posts/${postId}`, { 'If-None-Match': post.headers.get('etag')! })
        expect(page.status, `read ${i}`).toBe(200)
        expect(page.text).toContain('Fresh words for guests')
        const home = await guest.get('/', { 'If-None-Match': list.headers.get('etag')! })
        expect(home.status, `read ${i}`).toBe(200)
        expect(home.text).toContain('1 comment')
      }
      // And the new pages are held in turn.
      const now = await guest.get(`/posts/${postId}`)
      const before = await appAnswers()
      const again = await rawRequest(port, 'GET', `/posts/${postId}`)
      expect([again.header('etag'), await appAnswers()]).toEqual([now.headers.get('etag'), before])
    })

    it('stops serving a deleted post\'s held page once the read side has applied the deletion', async () => {
      const { postId, guest, post } = await heldPost('Deleted soon')
      const deleted = await api.call('DELETE', `/api/posts/${postId}`, { token })
      expect(deleted.status).toBe(204)
      expect((await api.document(postId, deleted.position)).status).toBe(404)
      for (let i = 0; i < 5; i++) {
        for (const headers of [{}, { 'If-None-Match': post.headers.get('etag')! }, { 'If-None-Match': '*' }] as Array<Record<string, string>>) {
          const page = await guest.get(`/posts/${postId}`, headers)
          expect([page.status, page.headers.get('etag')], `read ${i} ${JSON.stringify(headers)}`).toEqual([404, null])
        }
        expect((await guest.get('/')).html).not.toContain(postId)
      }
    })

    it('never keeps a page rendered for a member (or a browser whose session the API refused) as the guests\' page', async () => {
      const postId = await newPost(ann, 'Members first')
      // The member reads first (with her positions: her own post, at once): nothing is held for guests from that.
      expectMemberPage(await rawRequest(port, 'GET', `/posts/${postId}`, [`Cookie: ${ann.cookieHeader()}`]), 'the member')
      await eventually(() => api.document(postId), (doc) => doc.status === 200, { what: 'the post on the read side' })
      const forged = await strangerToken(bob.memberId)
      const refused = await rawRequest(port, 'GET', `/posts/${postId}`, [`Cookie: tidings_session=${forged}`])
      expect(refused.status).toBe(200)
      expect(refused.text).not.toContain('Log out')
      expect(refused.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value)).toContainEqual(expect.stringMatching(/^tidings_session=; Max-Age=0;/))
      const guest = await rawRequest(port, 'GET', `/posts/${postId}`)
      const held = await rawRequest(port, 'GET', `/posts/${postId}`)
      for (const answer of [guest, held]) {
        expect([answer.status, answer.header('cache-control')]).toEqual([200, 'no-cache'])
        expect(answer.text).not.toContain('Log out')
        expect(answer.text).not.toContain('board.js')
        expect(answer.headers.some(([name]) => name === 'set-cookie')).toBe(false)
      }
      expect(held.header('etag')).toBe(guest.header('etag'))
    })
  })
}
