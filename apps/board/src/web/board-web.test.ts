import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { boardWeb } from './board-web.routes'
import { safeNext } from './safe-next'

const POST_ID = '0190a8f2-0000-7000-8000-000000000001'
const TOKEN = 'aaa.bbb.ccc'
const SAME_ORIGIN = { Origin: 'http://localhost', 'Content-Type': 'application/x-www-form-urlencoded' }

/** A stand-in for the board's API that records what the pages send it. */
function fakeApi(options: { failWith?: number } = {}) {
  const seen: Array<{ method: string; path: string; position: string | null; authorization: string | null }> = []
  const api = new Hono()
  api.use('*', async (c, next) => {
    seen.push({ method: c.req.method, path: c.req.path, position: c.req.header('Tidings-Position') ?? null, authorization: c.req.header('Authorization') ?? null })
    if (options.failWith) return c.json({ detail: 'internal secret detail' }, options.failWith as 500)
    await next()
  })
  const signedIn = (auth: string | undefined) => auth === `Bearer ${TOKEN}`
  api.get('/api/members/me', (c) => (signedIn(c.req.header('Authorization')) ? c.json({ memberId: 'm1', email: 'a@example.com', nickname: 'ann' }) : c.json({ detail: 'The bearer token has expired' }, 401)))
  api.get('/api/notifications', (c) => c.json({ items: [], unread: 2 }))
  api.post('/api/posts', (c) => c.json({ postId: POST_ID }, 201, { 'Tidings-Position': 'board.post@5-1' }))
  api.get('/api/board/posts/:postId', (c) =>
    c.json({ postId: POST_ID, title: 'T', content: 'C', writer: { memberId: 'm1', nickname: 'ann' }, comments: [], commentCount: 0, createdAt: '2025-01-01T00:00:00.000Z', editedAt: null }),
  )
  return { seen, api: (path: string, init?: RequestInit) => api.request(path, init) }
}

function recordingLogger() {
  const errors: unknown[] = []
  return { errors, logger: { info: () => {}, warn: () => {}, error: (obj: object) => errors.push(obj) } }
}

describe('the board web pages (against a fake API)', () => {
  it('keeps the newest position per feed from writes and sends them all with the next read', async () => {
    const { seen, api } = fakeApi()
    const web = boardWeb({ api })
    const cookie = `tidings_session=${TOKEN}; tidings_positions=${encodeURIComponent('board.post@4-9,board.comment@3-1')}`
    const created = await web.request('/posts', { method: 'POST', headers: { ...SAME_ORIGIN, Cookie: cookie }, body: 'title=T&content=C' })
    expect(created.status).toBe(303)
    expect(created.headers.get('Location')).toBe(`/posts/${POST_ID}`)
    const positions = created.headers.getSetCookie().find((c) => c.startsWith('tidings_positions='))
    expect(positions).toBe('tidings_positions=board.post%405-1%2Cboard.comment%403-1; Max-Age=600; Path=/; HttpOnly; SameSite=Lax')
    expect(seen.at(-1)).toMatchObject({ method: 'POST', path: '/api/posts', authorization: `Bearer ${TOKEN}` })

    const page = await web.request(`/posts/${POST_ID}`, { headers: { Cookie: `tidings_session=${TOKEN}; ${positions!.split(';')[0]}` } })
    expect(page.status).toBe(200)
    expect(seen.find((s) => s.path === `/api/board/posts/${POST_ID}`)?.position).toBe('board.post@5-1,board.comment@3-1')
    // Reads of the document go without the token: they are public.
    expect(seen.find((s) => s.path === `/api/board/posts/${POST_ID}`)?.authorization).toBeNull()
  })

  it('renders an API failure as a bare HTML 500 (details only in the log), and 503 as "try again"', async () => {
    const { logger, errors } = recordingLogger()
    const failing = boardWeb({ api: fakeApi({ failWith: 500 }).api, logger })
    const page = await failing.request(`/posts/${POST_ID}`)
    expect(page.status).toBe(500)
    expect(page.headers.get('Content-Type')).toBe('text/html; charset=UTF-8')
    const html = await page.text()
    expect(html).toContain('<p role="alert">Something went wrong. Please try again.</p>')
    expect(html).not.toContain('internal secret detail')
    expect(errors).toHaveLength(1)

    const unavailable = await boardWeb({ api: fakeApi({ failWith: 503 }).api, logger }).request('/')
    expect(unavailable.status).toBe(503)
    expect(await unavailable.text()).toContain('The board is not answering right now.')

    const unreachable = await boardWeb({ api: () => Promise.reject(new TypeError('fetch failed: ECONNREFUSED 10.0.0.1')), logger }).request('/')
    expect(unreachable.status).toBe(500)
    expect(await unreachable.text()).not.toContain('ECONNREFUSED')
  })

  it('marks cookies Secure with the __Host- prefix when asked', async () => {
    const { api } = fakeApi()
    const web = boardWeb({ api, secureCookies: true })
    const out = await web.request('/logout', { method: 'POST', headers: SAME_ORIGIN })
    expect(out.headers.getSetCookie()).toContain('__Host-tidings_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax')
    const home = await web.request('/', { headers: { Cookie: `__Host-tidings_session=${TOKEN}` } })
    expect(await home.text()).toContain('data-unread-count="2"')
    const plain = await web.request('/', { headers: { Cookie: `tidings_session=${TOKEN}` } })
    expect(await plain.text()).not.toContain('data-unread-count')
  })

  it('answers an unknown page with HTML when served on its own', async () => {
    const answer = await boardWeb({ api: fakeApi().api }).request('/nowhere')
    expect(answer.status).toBe(404)
    expect(await answer.text()).toContain('There is no such page.')
  })
})

describe('safeNext', () => {
  it('keeps paths on this site and turns everything else into /', () => {
    expect(safeNext('/posts/new?x=1')).toBe('/posts/new?x=1')
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'evil', '/\t/evil.example', '', undefined, ['/a']]) expect(safeNext(bad), String(bad)).toBe('/')
  })
})
