import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import type { Database } from '@tidings/postgres'
import { documentOnceReady } from '../test-kit/problems'
import { serveBoard, type ServedBoard } from '../test-kit/serve-board'
import type { BoardClient, Member } from '../test-kit/board-client'
import { boardWeb } from './board-web.routes'
import { TestBrowser } from './test-browser'

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

const REDIRECTS = [301, 302, 307, 308]

let counter = 0
const unique = (name: string) => `${name}${process.pid % 10_000}a${++counter}`

/** The spellings of an id that differ only in the case of its letters (the id itself excluded). */
function caseVariants(id: string): string[] {
  const letters = [...id].filter((ch) => /[a-f]/.test(ch)).length
  const variants: string[] = []
  for (let n = 1; n < 2 ** letters; n++) {
    let bit = 0
    variants.push(id.replace(/[a-f]/g, (ch) => ((n >> bit++) & 1 ? ch.toUpperCase() : ch)))
  }
  return variants
}

/**
 * Attacks on the guests' page cache (GuestPages) and the ETags of the read side: the board served on a
 * database as it runs, and — where what the pages ask the API must be seen — the same web routes over the
 * board's own API, with every API call recorded.
 */
for (const engine of await testEngines()) {
  describe(`the guests' page cache under attack on ${engine.name}`, () => {
    let served: ServedBoard
    let db: Database
    let api: BoardClient
    let baseUrl: string
    let writer: Member

    async function signedUp(name: string): Promise<TestBrowser> {
      const browser = new TestBrowser(baseUrl)
      const nickname = unique(name)
      const answer = await browser.post('/signup', { email: `${nickname}@example.com`, password: 'correct horse', nickname })
      expect(answer.status, answer.text).toBe(303)
      return browser
    }

    async function newPost(browser: TestBrowser, title: string): Promise<string> {
      const created = await browser.post('/posts', { title, content: 'Some content' })
      expect(created.status, created.text).toBe(303)
      return new RegExp(`^/posts/(${UUID})$`).exec(created.location ?? '')![1]!
    }

    /** The pages' routes over the board's API, recording the If-None-Match of each read the pages make. */
    function recordedPages() {
      const reads: Array<{ path: string; ifNoneMatch: string | null; status: number }> = []
      const pages = boardWeb({
        api: async (path, init, bindings) => {
          const answer = await served.board.http.request(path, init, bindings)
          if ((init?.method ?? 'GET') === 'GET') reads.push({ path, ifNoneMatch: new Headers(init?.headers).get('if-none-match'), status: answer.status })
          return answer
        },
      })
      return { reads, get: (path: string) => pages.request(path) }
    }

    beforeAll(async () => {
      ;({ db } = await engine.freshDatabase())
      served = await serveBoard(db)
      api = served.client
      baseUrl = api.baseUrl
      writer = await api.newMember('writer')
    })
    afterAll(() => served?.stop())

    it('keeps one guest page per post, whatever the case of the id in its path', async () => {
      const created = await api.createPost(writer, { title: 'Case', content: '…' })
      const postId = created.body.postId
      await documentOnceReady(api, postId, created.position)
      const { reads, get } = recordedPages()
      const first = await get(`/posts/${postId}`)
      expect(first.status).toBe(200)
      const source = reads.at(-1)!
      expect(source.ifNoneMatch).toBeNull()
      // The API answers the upper-case id with the same document (and ETag) as the lower-case one, and the
      // page shows the same bytes: the page rendered for the one is the page for the other.
      // (Or the upper-case path is sent to the canonical one.)
      const upper = await get(`/posts/${postId.toUpperCase()}`)
      if (REDIRECTS.includes(upper.status)) expect(upper.headers.get('location')).toBe(`/posts/${postId}`)
      else {
        expect([upper.status, upper.headers.get('etag')]).toEqual([200, first.headers.get('etag')])
        expect(reads.at(-1)!.ifNoneMatch, 'the upper-case path was rendered again, and is now kept as a page of its own').not.toBeNull()
      }
    })

    it('is not flooded by case variants of a few posts\' paths: the list page stays held', async () => {
      const variants: string[] = []
      let posts = 0
      while (variants.length <= 1_000 && posts < 20) {
        const created = await api.createPost(writer, { title: `Variants ${posts}`, content: '…' })
        posts++
        await documentOnceReady(api, created.body.postId, created.position)
        variants.push(...caseVariants(created.body.postId).map((id) => `/posts/${id}`))
      }
      expect(variants.length).toBeGreaterThan(1_000)
      const { reads, get } = recordedPages()
      expect((await get('/')).status).toBe(200)
      expect((await get('/')).status).toBe(200)
      expect(reads.at(-1)!.ifNoneMatch, 'the list page is held').not.toBeNull()
      // Every variant is a 200 of one of a few posts (today each is rendered and kept under its own path).
      for (const path of variants.slice(0, 1_001)) expect([200, ...REDIRECTS]).toContain((await get(path)).status)
      const home = await get('/')
      expect(home.status).toBe(200)
      expect(reads.at(-1)!.ifNoneMatch, `the list page was pushed out by 1,001 spellings of ${posts} posts' paths`).not.toBeNull()
    })

    it('never serves a guest holding the old pages a page without their own write: a browser whose session cookie expired, its positions kept', async () => {
      const ann = await signedUp('ann')
      const postId = await newPost(ann, 'Read your writes')
      expect((await ann.get(`/posts/${postId}`)).status).toBe(200)
      // The guests' pages of the list and the post, as a guest's browser holds them.
      const guest = new TestBrowser(baseUrl)
      const list = await eventually(() => guest.get('/'), (page) => page.html.includes(postId), { what: 'the post in the guests\' list' })
      const post = await guest.get(`/posts/${postId}`)
      expect(post.status).toBe(200)
      const comment = await ann.post(`/posts/${postId}/comments`, { content: 'My own comment' })
      expect(comment.status, comment.text).toBe(303)
      // The session cookie outlives its token by nothing, the positions cookie lives 10 minutes: it is a
      // guest now, with this browser's positions, holding the pages from before its comment.
      ann.cookies.delete('tidings_session')
      expect(ann.cookies.has('tidings_positions')).toBe(true)
      for (const [path, held] of [
        [`/posts/${postId}`, post],
        ['/', list],
      ] as const) {
        const page = await ann.get(path, { 'If-None-Match': held.headers.get('etag')! })
        expect(page.status, path).toBe(200)
        expect(page.headers.get('etag')).not.toBe(held.headers.get('etag'))
        expect(page.headers.get('vary')).toBe('Cookie')
        expect(page.text).not.toContain('Log out')
      }
      expect((await ann.get(`/posts/${postId}`)).text).toContain('My own comment')
      expect((await ann.get('/')).text).toContain('1 comment')
    })

    it('answers a deleted post 404 (never 304) to the held page\'s ETag, and drops it from the list', async () => {
      const ann = await signedUp('del')
      const postId = await newPost(ann, 'Soon deleted')
      expect((await ann.get(`/posts/${postId}`)).status).toBe(200)
      const guest = new TestBrowser(baseUrl)
      const post = await eventually(() => guest.get(`/posts/${postId}`), (page) => page.status === 200, { what: 'the guests\' post page' })
      const json = await api.document(postId)
      expect(json.status).toBe(200)
      const deleted = await ann.post(`/posts/${postId}/delete`, {})
      expect(deleted.status, deleted.text).toBe(303)
      // With the browser's positions (a guest now): at once.
      ann.cookies.delete('tidings_session')
      const gone = await ann.get(`/posts/${postId}`, { 'If-None-Match': post.headers.get('etag')! })
      expect([gone.status, gone.headers.get('etag'), gone.headers.get('cache-control')]).toEqual([404, null, 'no-store'])
      expect((await ann.get('/')).html).not.toContain(postId)
      // Without a token: as soon as the read side has it, neither the page, the list, nor the JSON (fast path) shows it.
      await eventually(() => guest.get(`/posts/${postId}`, { 'If-None-Match': post.headers.get('etag')! }), (page) => page.status === 404, { what: 'the guest page to go' })
      expect((await guest.get('/')).html).not.toContain(postId)
      expect((await api.document(postId, null, { 'If-None-Match': json.headers.get('etag')! })).status).toBe(404)
      expect((await api.list()).body.items.map((item) => item.postId)).not.toContain(postId)
    })

    it('never gives a member the guests\' page or a 304 for it, whatever If-None-Match says; guests get 304s with every header and no body', async () => {
      const ann = await signedUp('member')
      const postId = await newPost(ann, 'Members and guests')
      expect((await ann.get(`/posts/${postId}`)).status).toBe(200)
      const guest = new TestBrowser(baseUrl)
      for (const path of ['/', `/posts/${postId}`]) {
        const page = await eventually(() => guest.get(path), (p) => p.status === 200 && p.html.includes(postId), { what: `${path} for guests` })
        const etag = page.headers.get('etag')!
        for (const ifNoneMatch of ['*', etag, `W/${etag}`, `"other", ${etag}`]) {
          const mine = await ann.get(path, { 'If-None-Match': ifNoneMatch })
          expect([mine.status, mine.headers.get('etag'), mine.headers.get('cache-control')], `${path} ${ifNoneMatch}`).toEqual([200, null, 'no-store'])
          expect(mine.text).toContain('Log out')
          const held = await guest.get(path, { 'If-None-Match': ifNoneMatch })
          expect([held.status, held.html, held.headers.get('etag'), held.headers.get('cache-control'), held.headers.get('vary')], `${path} ${ifNoneMatch}`).toEqual([304, '', etag, 'no-cache', 'Cookie'])
        }
        // Garbage or a huge list of other tags: the page, never an error.
        for (const ifNoneMatch of ['garbage', ',,,', etag.slice(1, -1), `w/${etag}`, Array.from({ length: 1_500 }, (_, i) => `"t${i}"`).join(', ')]) {
          const page2 = await guest.get(path, { 'If-None-Match': ifNoneMatch })
          expect([page2.status, page2.headers.get('etag')], `${path} ${ifNoneMatch.slice(0, 20)}`).toEqual([200, etag])
        }
      }
    })
  })
}
