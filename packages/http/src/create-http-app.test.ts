import { describe, expect, it } from 'vitest'
import { TidingsError, type ErrorKind } from '@tidings/core'
import { createHttpApp, DEFAULT_BODY_LIMIT_BYTES } from './create-http-app'
import { createMetrics } from './host/metrics'

function echoApp(options: Parameters<typeof createHttpApp>[0] = {}) {
  const app = createHttpApp(options)
  app.post('/echo', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }))
  return app
}

function streamOf(bytes: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close()
      const n = Math.min(chunk, bytes - sent)
      sent += n
      controller.enqueue(new Uint8Array(n).fill(120))
    },
  })
}

/** A request with a streamed body: no Content-Length, as with chunked transfer encoding. */
function streamed(bytes: number): Request {
  return new Request('http://test/echo', { method: 'POST', body: streamOf(bytes), duplex: 'half' } as RequestInit)
}

describe('createHttpApp', () => {
  it('answers /healthz', async () => {
    const res = await createHttpApp().request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('answers an unknown route with a ROUTE_NOT_FOUND problem', async () => {
    const res = await createHttpApp().request('/nope', { method: 'DELETE' })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', detail: 'No route for DELETE /nope' })
  })

  it('renders every error kind thrown by a route as problem+json', async () => {
    const app = createHttpApp()
    app.get('/fail/:kind', (c) => {
      throw new TidingsError('TEST_FAILURE', c.req.param('kind') as ErrorKind, 'it failed')
    })
    app.get('/boom', () => {
      throw new Error('internal detail that must not leak')
    })
    const statuses: Record<ErrorKind, number> = {
      validation: 400,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      conflict: 409,
      too_large: 413,
      unprocessable: 422,
      unavailable: 503,
    }
    for (const [kind, status] of Object.entries(statuses)) {
      const res = await app.request(`/fail/${kind}`)
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(await res.json()).toEqual({
        type: 'urn:tidings:problem:test-failure',
        title: expect.any(String),
        status,
        code: 'TEST_FAILURE',
        detail: 'it failed',
      })
    }
    const boom = await app.request('/boom')
    expect(boom.status).toBe(500)
    const text = await boom.text()
    expect(JSON.parse(text)).toMatchObject({ code: 'INTERNAL' })
    expect(text).not.toContain('internal detail')
  })

  describe('body limit', () => {
    it('refuses a declared Content-Length over the limit before reading the body', async () => {
      const app = echoApp({ bodyLimitBytes: 1000 })
      // Endless: had the app started reading it, this request would never finish.
      const body = new ReadableStream({ pull: (controller) => controller.enqueue(new Uint8Array(1024)) })
      const req = new Request('http://test/echo', { method: 'POST', body, duplex: 'half', headers: { 'Content-Length': '2000' } } as RequestInit)
      const res = await app.request(req)
      expect(res.status).toBe(413)
      expect(await res.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The payload exceeds 1000 bytes' })
    })

    it('refuses a streamed body without Content-Length once it passes the limit', async () => {
      const res = await echoApp({ bodyLimitBytes: 1000 }).request(streamed(5000))
      expect(res.status).toBe(413)
      expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    })

    it('lets bodies up to the limit through, streamed or declared', async () => {
      const app = echoApp({ bodyLimitBytes: 1000 })
      expect(await (await app.request(streamed(1000))).json()).toEqual({ bytes: 1000 })
      const declared = await app.request('/echo', { method: 'POST', body: 'x'.repeat(1000), headers: { 'Content-Length': '1000' } })
      expect(await declared.json()).toEqual({ bytes: 1000 })
    })

    it('defaults to 1 MiB', async () => {
      const app = echoApp()
      expect(DEFAULT_BODY_LIMIT_BYTES).toBe(1024 * 1024)
      expect((await app.request(streamed(DEFAULT_BODY_LIMIT_BYTES))).status).toBe(200)
      expect((await app.request(streamed(DEFAULT_BODY_LIMIT_BYTES + 1))).status).toBe(413)
      const declared = await app.request('/echo', { method: 'POST', headers: { 'Content-Length': String(DEFAULT_BODY_LIMIT_BYTES + 1) }, body: 'x' })
      expect(declared.status).toBe(413)
    })
  })

  describe('/readyz', () => {
    it('is ready when every check passes', async () => {
      const app = createHttpApp({ readiness: { db: async () => {}, cache: async () => true } })
      const res = await app.request('/readyz')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ status: 'ready', checks: { db: 'ok', cache: 'ok' } })
    })

    it('answers 503 naming the checks that failed, threw or hung', async () => {
      const warnings: object[] = []
      const app = createHttpApp({
        logger: { info: () => {}, warn: (o) => warnings.push(o), error: () => {} },
        readinessTimeoutMs: 50,
        readiness: {
          db: async () => {
            throw new Error('connection refused at 10.0.0.7')
          },
          broker: async () => false,
          cache: (signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)),
          clock: async () => {},
        },
      })
      const res = await app.request('/readyz')
      expect(res.status).toBe(503)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      const body = await res.json()
      expect(body).toMatchObject({
        status: 503,
        code: 'NOT_READY',
        failing: ['db', 'broker', 'cache'],
        checks: { db: 'failed', broker: 'failed', cache: 'timeout', clock: 'ok' },
      })
      expect(JSON.stringify(body)).not.toContain('10.0.0.7')
      expect(warnings).toHaveLength(1)
    })
  })

  it('serves /metrics from its registry and records request durations', async () => {
    const metrics = createMetrics()
    const app = createHttpApp({ metrics })
    app.get('/things/:id', (c) => c.json({ id: c.req.param('id') }))
    await app.request('/things/1')
    await app.request('/missing')
    const res = await app.request('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text).toContain('tidings_http_request_duration_seconds_count{method="GET",route="/things/:id",status="200"} 1')
    expect(text).toContain('tidings_http_request_duration_seconds_count{method="GET",route="(unmatched)",status="404"} 1')
  })

  it('has no /metrics without a metrics object', async () => {
    expect((await createHttpApp().request('/metrics')).status).toBe(404)
  })
})
