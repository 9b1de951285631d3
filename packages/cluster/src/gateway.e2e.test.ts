import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '@tidings/core'
import { serveHttp } from '@tidings/http'
import { gateway } from './gateway'

/** A TCP server that takes each connection and drops it once the request has arrived: a service that died mid-request. */
async function dropsRequests(): Promise<Server> {
  const server = createServer((socket) => socket.once('data', () => socket.destroy()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A gateway that passes /api/posts to one service. */
const gatewayTo = (options: { instances: () => string[]; logger: typeof silentLogger; answerTimeoutMs?: number }) => gateway({ routes: [[/^\/api\/posts(\/|$)/, 'posts']], ...options })

describe('the gateway when a service does not answer', () => {
  const servers: Server[] = []
  afterEach(() => servers.splice(0).forEach((s) => s.close()))

  const post = (entry: ReturnType<typeof gateway>) =>
    entry.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 't', content: 'c' }) })

  it('says 503, try again, when the request never reached it (nothing listens)', async () => {
    const port = await closedPort()
    const entry = gatewayTo({ instances: () => [`http://127.0.0.1:${port}`], logger: silentLogger })
    const answer = await post(entry)
    expect(answer.status).toBe(503)
    expect(answer.headers.get('retry-after')).toBe('1')
    expect(await answer.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
  })

  it('says 502 without inviting a retry when a write reached it and the connection failed: it may have been applied', async () => {
    const server = await dropsRequests()
    servers.push(server)
    const entry = gatewayTo({ instances: () => [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], logger: silentLogger })
    const answer = await post(entry)
    expect(answer.status).toBe(502)
    expect(answer.headers.get('retry-after')).toBeNull()
    expect(await answer.json()).toMatchObject({ code: 'SERVICE_FAILED' })
    // A read is safe to send again: still 503 with a retry.
    const read = await entry.request('/api/posts')
    expect(read.status).toBe(503)
    expect(read.headers.get('retry-after')).toBe('1')
  })
})

/** A TCP server that takes requests and never answers: a service whose event loop is blocked. */
async function neverAnswers(): Promise<Server> {
  const server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

describe('the gateway with a service that hangs, and requests proxies trip on', () => {
  const servers: Server[] = []
  afterEach(() => servers.splice(0).forEach((s) => s.close()))

  it('answers 504 for a write an instance does not start answering in time, and 503 for a read', async () => {
    const server = await neverAnswers()
    servers.push(server)
    const entry = gatewayTo({ instances: () => [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], logger: silentLogger, answerTimeoutMs: 300 })
    const write = await entry.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(write.status).toBe(504)
    expect(await write.json()).toMatchObject({ code: 'SERVICE_TIMEOUT', title: 'Gateway Timeout' })
    const read = await entry.request('/api/posts')
    expect(read.status).toBe(503)
    expect(read.headers.get('retry-after')).toBe('1')
  })

  it("passes on a request that says Expect: 100-continue (this server answered it), and refuses TRACE itself", async () => {
    const seen: string[] = []
    const upstream = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.headers.expect ?? '-'}`)
      req.resume().on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}'))
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    try {
      const entry = gatewayTo({ instances: () => [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`], logger: silentLogger })
      const posted = await entry.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json', expect: '100-continue' }, body: '{}' })
      expect(posted.status).toBe(201)
      // fetch cannot even send TRACE: over a socket, as a client would.
      const served = await serveHttp(entry, 0, { hostname: '127.0.0.1' })
      try {
        const traced = await new Promise<{ status: number; body: string }>((resolve, reject) =>
          httpRequest({ host: '127.0.0.1', port: served.port, path: '/api/posts', method: 'TRACE' }, (res) => {
            let body = ''
            res.on('data', (chunk: Buffer) => (body += chunk.toString())).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
          })
            .on('error', reject)
            .end(),
        )
        expect(traced.status).toBe(405)
        expect(JSON.parse(traced.body)).toMatchObject({ code: 'METHOD_NOT_ALLOWED' })
      } finally {
        await served.close()
      }
      expect(seen).toEqual(['POST -'])
    } finally {
      await new Promise((resolve) => upstream.close(resolve))
    }
  })
})

describe('the gateway passes on only the public paths of its routes', () => {
  it("answers 404 itself for every other path (a service's /internal routes, its feeds, its metrics), and the pages where there are some", async () => {
    const seen: string[] = []
    const upstream = createHttpServer((req, res) => {
      seen.push(req.url ?? '')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
      const entry = gateway({
        routes: [[/^\/api\/posts(\/|$)/, 'posts']],
        instances: () => [url],
        pages: () => new Hono().get('/', (c) => c.html('<h1>home</h1>')),
        logger: silentLogger,
      })
      for (const path of ['/internal/posts/x', '/metrics', '/api/feeds/board.post?after=0', '/api/postsx', '/readyz-not', '/../internal/posts']) {
        expect((await entry.request(path)).status, path).toBe(404)
      }
      expect(seen).toEqual([])
      expect(await (await entry.request('/api/posts/1?x=2')).json()).toEqual({ ok: true })
      expect(seen).toEqual(['/api/posts/1?x=2'])
      expect(await (await entry.request('/')).text()).toBe('<h1>home</h1>')
    } finally {
      upstream.close()
    }
  })
})
