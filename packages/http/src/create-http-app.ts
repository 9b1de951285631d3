import type { IncomingMessage } from 'node:http'
import { noAlerts, PayloadTooLarge, silentLogger, type Alerts, type Logger } from '@tidings/core'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { routePath } from 'hono/route'
import type { Metrics } from './host/metrics'
import { problem, problemOf, problemResponse, RouteNotFound } from './problem'

/** A readiness check resolves when its dependency answers; it is not ready when it throws or resolves `false`. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>

export interface HttpAppOptions {
  logger?: Logger
  /** Largest request body accepted, in bytes; default 1 MiB. */
  bodyLimitBytes?: number
  /** Named checks run by `/readyz`, e.g. `{ db: () => db.query('SELECT 1') }`. */
  readiness?: Record<string, ReadinessCheck>
  /** How long one readiness check may take before it counts as failed; default 2 s. */
  readinessTimeoutMs?: number
  /** Served at `/metrics`, and HTTP request durations are recorded into it. Without it there is no `/metrics`. */
  metrics?: Metrics
  /** Told of every 500 answer (an error nobody expected), by route. */
  alerts?: Alerts
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024

/** Browsers take every response for the type it declares: no script or style guessed out of JSON or text. */
export const NOSNIFF = 'nosniff'
/** For answers that are one caller's own (their money, their place in line): no cache on the way keeps them. */
export const NO_STORE = { 'Cache-Control': 'no-store' } as const

/** Each app's body limit, for the server that serves it (`serveHttp` refuses oversized uploads before they start). */
const bodyLimits = new WeakMap<object, number>()

/** The body limit `createHttpApp` gave this app; undefined for an app it did not make. */
export function bodyLimitOf(app: object): number | undefined {
  return bodyLimits.get(app)
}

/**
 * The base of every service's HTTP app: problem+json for every error, a body size limit, `nosniff` on
 * every response, health and readiness probes and Prometheus metrics. Services add their routes to the returned app.
 */
export function createHttpApp(options: HttpAppOptions = {}): Hono {
  const logger = options.logger ?? silentLogger
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES
  const app = new Hono()
  bodyLimits.set(app, limit)

  const alerts = options.alerts ?? noAlerts
  app.onError((error, c) => {
    const answer = problemOf(error, logger, { method: c.req.method, path: c.req.path })
    if (answer.status === 500) {
      const where = `${c.req.method} ${routePath(c)}`
      alerts.raise({ kind: 'http_error', code: answer.code, where, message: `answered 500: ${error.name}: ${error.message.slice(0, 200)}` })
    }
    return problemResponse(answer)
  })
  app.notFound((c) => problemResponse(problemOf(new RouteNotFound(c.req.method, c.req.path))))

  // First, so that it also marks what a later middleware, the error handler or a route of any sub-app answers.
  app.use('*', async (c, next) => {
    await next()
    try {
      c.res.headers.set('X-Content-Type-Options', NOSNIFF)
    } catch {
      // Immutable headers (a fetched Response passed on as it is): Hono copies the response.
      c.header('X-Content-Type-Options', NOSNIFF)
    }
  })

  const metrics = options.metrics
  if (metrics) {
    app.use('*', async (c, next) => {
      const started = performance.now()
      await next()
      const route = routePath(c)
      const label = c.res.status === 404 && route.endsWith('*') ? '(unmatched)' : route
      metrics.observeHttp(c.req.method, label, c.res.status, (performance.now() - started) / 1000)
    })
  }

  // Declared sizes are refused before a byte is read; chunked bodies are counted as they stream in. The
  // unread rest of the body leaves the connection unusable, so the refusal closes it: a client that kept it
  // alive for its next request would otherwise have that request cut off ("socket hang up").
  // GET and HEAD handlers never read a body. On Node's server, a declared length (Node's parser holds the
  // body to it) or no body at all is checked on the incoming headers: Hono's check reads `req.raw.body`,
  // which builds a full Request and its stream for every write, even one without a body, and makes
  // `req.json()` read through them instead of straight from the socket. Only the request Node received is
  // judged by its headers: a call in process with that request's bindings (the pages call the API so) has a
  // body of its own, which the body-limit check counts.
  const tooLarge = () => problemResponse(problemOf(new PayloadTooLarge(limit)), { Connection: 'close' })
  const limitBody = bodyLimit({ maxSize: limit, onError: tooLarge })
  app.use('*', (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
    if (incoming === undefined || !isIncomingOf(incoming, c.req.method, c.req.url) || incoming.headers['transfer-encoding'] !== undefined) return limitBody(c, next)
    return Number(incoming.headers['content-length'] ?? 0) > limit ? Promise.resolve(tooLarge()) : next()
  })

  app.get('/healthz', (c) => c.json({ status: 'ok' }))

  const checks = Object.entries(options.readiness ?? {})
  const timeoutMs = options.readinessTimeoutMs ?? 2_000
  app.get('/readyz', async (c) => {
    const results = await Promise.all(checks.map(async ([name, check]) => [name, await runCheck(name, check, timeoutMs, logger)] as const))
    const failing = results.filter(([, outcome]) => outcome !== 'ok').map(([name]) => name)
    const summary = Object.fromEntries(results)
    if (failing.length === 0) return c.json({ status: 'ready', checks: summary })
    return problemResponse(problem(503, 'NOT_READY', `Not ready: ${failing.join(', ')}`, { checks: summary, failing }), {
      'Retry-After': '1',
    })
  })

  if (metrics) {
    app.get('/metrics', async (c) => {
      const text = await metrics.registry.metrics()
      return c.body(text, 200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' })
    })
  }

  return app
}

type CheckOutcome = 'ok' | 'failed' | 'timeout'

/** The outcome only: a dependency's error message may describe internals, so it goes to the log. */
async function runCheck(name: string, check: ReadinessCheck, timeoutMs: number, logger: Logger): Promise<CheckOutcome> {
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      abort.abort()
      resolve('timeout')
    }, timeoutMs)
  })
  const run = (async (): Promise<CheckOutcome> => ((await check(abort.signal)) === false ? 'failed' : 'ok'))().catch(
    (error: unknown): CheckOutcome => {
      logger.warn({ err: error, check: name }, 'readiness check failed')
      return 'failed'
    },
  )
  try {
    return await Promise.race([run, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Whether `incoming` is this request as Node received it (not one made in process with its bindings). */
function isIncomingOf(incoming: IncomingMessage, method: string, url: string): boolean {
  if (incoming.method !== method) return false
  const path = url.indexOf('/', url.indexOf('//') + 2)
  return path >= 0 && url.slice(path) === incoming.url
}
