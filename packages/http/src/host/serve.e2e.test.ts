import { request } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import type { Hono } from 'hono'
import { START, type FeedPage, type FeedReader, type ReadOptions } from '@tidings/core'
import { PgDatabase } from '@tidings/postgres'
import * as z from 'zod'
import { createHttpApp } from '../create-http-app'
import { deferred } from '../deferred'
import { feedRoutes } from '../feed-routes'
import { createMetrics } from './metrics'
import { serveHttp, type RunningServer } from './serve'
import { validBody } from '../validation'

/** A feed that never grows: a long poll on it ends only when its request is aborted. */
class SilentFeed implements FeedReader {
  readonly source = 'quiet.feed'
  readonly started = deferred()
  readonly aborted = deferred()

  read(after: string, _limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    this.started.resolve()
    return new Promise((resolve) => {
      options.signal?.addEventListener('abort', () => {
        this.aborted.resolve()
        resolve({ items: [], next: after })
      })
    })
  }

  async lag(): Promise<{ events: number }> {
    return { events: 0 }
  }
}

interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Sends a body in chunks with node:http, with or without Content-Length, and takes the answer even if it comes early. */
function post(port: number, path: string, chunks: string[], headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

describe('serveHttp', () => {
  const servers: RunningServer[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  async function start(options: Parameters<typeof createHttpApp>[0] = {}, feed = new SilentFeed(), more: (app: Hono) => void = () => {}) {
    const app = createHttpApp({ bodyLimitBytes: 1024, ...options })
    app.post('/notes', validBody(z.object({ text: z.string().max(2000) })), (c) => c.json({ length: c.req.valid('json').text.length }, 201))
    more(app)
    app.route('/', feedRoutes({ feeds: { 'quiet.feed': feed } }))
    const server = await serveHttp(app, 0, { hostname: '127.0.0.1', graceMs: 100 })
    servers.push(server)
    return { server, base: `http://127.0.0.1:${server.port}`, feed }
  }

  it('serves health, validation and problems over a real socket', async () => {
    const { base } = await start()
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
    const created = await fetch(`${base}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":"hi"}' })
    expect(created.status).toBe(201)
    const malformed = await fetch(`${base}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":' })
    expect(malformed.status).toBe(400)
    expect(malformed.headers.get('content-type')).toBe('application/problem+json')
    expect(await malformed.json()).toMatchObject({ code: 'MALFORMED_JSON' })
    const invalid = await fetch(`${base}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":5}' })
    expect(await invalid.json()).toMatchObject({ status: 400, code: 'VALIDATION', fields: [{ path: 'text' }] })
  })

  it('answers 413 to an oversized body, declared or streamed in chunks', async () => {
    const { server } = await start()
    const chunks = Array.from({ length: 8 }, () => 'x'.repeat(512))
    const declared = await post(server.port, '/notes', chunks, { 'Content-Type': 'application/json', 'Content-Length': String(8 * 512) })
    expect(declared.status).toBe(413)
    expect(declared.headers['content-type']).toBe('application/problem+json')
    expect(JSON.parse(declared.body)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    const streamed = await post(server.port, '/notes', chunks, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })
    expect(streamed.status).toBe(413)
    expect(JSON.parse(streamed.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    const small = await post(server.port, '/notes', ['{"text":', '"hello"}'], { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })
    expect(small.status).toBe(201)
  })

  it('counts the body of a call made in process with the request’s bindings (as the pages call the API), not the request’s own length', async () => {
    const { base } = await start({}, new SilentFeed(), (app) =>
      // A small form whose text the page expands (JSON escapes a control byte into six) past the limit.
      app.post('/page', async (c) => app.request('/notes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: '\u0001'.repeat(300) }) }, c.env)),
    )
    const answer = await fetch(`${base}/page`, { method: 'POST', body: 'x'.repeat(300) })
    expect(answer.status).toBe(413)
    expect(await answer.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
  })

  it("refuses a declared body over the app's limit before 100 Continue, and lets one within it continue", async () => {
    const { server } = await start()
    const ask = (length: number, body: string) =>
      new Promise<RawResponse & { continued: boolean }>((resolve, reject) => {
        let continued = false
        const req = request({ host: '127.0.0.1', port: server.port, path: '/notes', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(length), Expect: '100-continue' } }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text, continued }))
        })
        req.on('error', reject)
        req.on('continue', () => {
          continued = true
          req.end(body)
        })
      })
    // The app was made with a 1 KiB limit: the server learns it from the app.
    const refused = await ask(4096, 'x'.repeat(4096))
    expect(refused).toMatchObject({ status: 413, continued: false })
    expect(refused.headers).toMatchObject({ 'content-type': 'application/problem+json', connection: 'close', 'x-content-type-options': 'nosniff' })
    expect(JSON.parse(refused.body)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    const accepted = await ask(13, '{"text":"hi"}')
    expect(accepted).toMatchObject({ status: 201, continued: true })
  })

  it('refuses a body that is not UTF-8 with 400 INVALID_UTF8', async () => {
    const { base } = await start()
    const body = Buffer.concat([Buffer.from('{"text":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])
    const res = await fetch(`${base}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'INVALID_UTF8' })
  })

  it('says nosniff on every response: routes, problems, and what a fast path answers before the app', async () => {
    const app = createHttpApp()
    app.get('/data', (c) => c.json({ ok: true }))
    app.get('/raw', () => new Response('text', { headers: { 'Content-Type': 'text/plain' } }))
    const server = await serveHttp(app, 0, {
      hostname: '127.0.0.1',
      graceMs: 100,
      fastPath: (req, res) => req.url === '/fast' && (res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'), true),
    })
    servers.push(server)
    for (const path of ['/data', '/raw', '/healthz', '/nothing-here', '/fast']) {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`)
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
    const thrown = createHttpApp()
    thrown.get('/fail', () => {
      throw new Error('boom')
    })
    expect((await thrown.request('/fail')).headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('reports a database that does not answer on /readyz', async () => {
    const db = new PgDatabase({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere' })
    try {
      const metrics = createMetrics()
      const { base } = await start({ readiness: { db: () => db.query('SELECT 1') }, metrics })
      const res = await fetch(`${base}/readyz`)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ code: 'NOT_READY', checks: { db: 'failed' } })
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('route="/readyz",status="503"')
    } finally {
      await db.close()
    }
  })

  it('ends the long poll of a client that went away', async () => {
    const { base, feed } = await start()
    const client = new AbortController()
    const polling = fetch(`${base}/api/feeds/quiet.feed?after=${START}&wait=20000`, { signal: client.signal }).catch((e: unknown) => e)
    await feed.started.promise
    client.abort()
    await feed.aborted.promise
    expect(await polling).toBeInstanceOf(Error)
  })

  it('closes gracefully: a request in flight still gets its answer', async () => {
    const entered = deferred()
    const release = deferred()
    const app = createHttpApp()
    app.get('/slow', async (c) => {
      entered.resolve()
      await release.promise
      return c.json({ done: true })
    })
    const server = await serveHttp(app, 0, { hostname: '127.0.0.1', graceMs: 120_000 })
    const answer = fetch(`http://127.0.0.1:${server.port}/slow`).then((r) => r.json())
    await entered.promise
    const closed = server.close()
    release.resolve()
    expect(await answer).toEqual({ done: true })
    await closed
  })

  it('closes gracefully: in-flight long polls are cut after the grace period', async () => {
    const { server, base, feed } = await start()
    const polling = fetch(`${base}/api/feeds/quiet.feed?wait=20000`).then(
      (res) => res.status,
      (e: unknown) => e,
    )
    await feed.started.promise
    await server.close()
    await feed.aborted.promise
    expect(await polling).toBeInstanceOf(Error)
    expect(await fetch(`${base}/healthz`).catch((e: unknown) => e)).toBeInstanceOf(Error)
  })
})
