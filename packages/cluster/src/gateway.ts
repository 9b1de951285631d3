import { createHttpApp, problem, problemResponse } from '@tidings/http'
import type { Logger } from '@tidings/core'
import type { Hono } from 'hono'

/**
 * Which service answers a public path: the first pattern that matches. A path no pattern matches is not
 * passed on (a service's `/internal` routes, its feeds and metrics stay inside the cluster).
 */
export type GatewayRoutes = ReadonlyArray<readonly [pattern: RegExp, service: string]>

/** The API as pages reach it: in the gateway's own process, without a socket. */
export type GatewayApi = (path: string, init?: RequestInit) => Promise<Response> | Response

export interface GatewayOptions {
  routes: GatewayRoutes
  /** Where each service's instances listen; requests to a service take turns over its instances. */
  instances(service: string): readonly string[]
  /** Web pages served by the gateway itself, as a client of the API it passes on. */
  pages?: (api: GatewayApi) => Hono
  logger: Logger
  /**
   * How long an instance may take to start its answer (default 30 s): a service that hangs (a blocked
   * event loop, a stopped process) answers 504 instead of holding the client. A started answer, such as
   * an event stream, runs as long as it likes.
   */
  answerTimeoutMs?: number
}

/** The methods passed on; any other (TRACE, CONNECT, made-up ones) is refused here. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * Hop-by-hop headers (and what fetch has already undone) never cross a proxy. `Expect: 100-continue` was
 * answered by this server already (`serveHttp`: 413 instead of 100 for a declared length over the limit,
 * so an oversized body is never sent, let alone passed on), and fetch refuses to send it.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', 'content-encoding', 'expect']

/**
 * The one HTTP entry point of services that run as separate processes: each public path is passed to the
 * service that owns it (instances take turns, and a read goes to the next instance when one does not
 * answer); web pages, if any, are served here, as a client of that same API.
 */
export function gateway(options: GatewayOptions): Hono {
  const { logger } = options
  const answerTimeoutMs = options.answerTimeoutMs ?? 30_000
  const app = createHttpApp({ logger })
  const turns = new Map<string, number>()

  app.all('*', async (c, next) => {
    const service = serviceOf(options.routes, c.req.path)
    if (!service) return next()
    if (!METHODS.has(c.req.method)) return problemResponse(problem(405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not a method this API answers`))
    const instances = options.instances(service)
    const first = turns.get(service) ?? 0
    turns.set(service, first + 1)
    const request = c.req.raw
    const url = new URL(request.url)
    // Only a read can be sent again to another instance: its body (none) has not been consumed.
    const read = request.method === 'GET' || request.method === 'HEAD'
    const tries = read ? instances.length : 1
    let delivered = false
    let timedOut = false
    for (let i = 0; i < tries; i++) {
      const target = instances[(first + i) % instances.length]!
      const late = new AbortController()
      const timer = setTimeout(() => late.abort(), answerTimeoutMs)
      try {
        return await forward(request, `${target}${url.pathname}${url.search}`, AbortSignal.any([request.signal, late.signal]))
      } catch (error) {
        if (request.signal.aborted) throw error
        timedOut ||= late.signal.aborted
        delivered ||= !connectionRefused(error)
        logger.warn({ err: error, service, target, timedOut: late.signal.aborted }, 'a service instance did not answer')
      } finally {
        clearTimeout(timer)
      }
    }
    // A write that reached an instance may have been applied before the connection failed: "try again"
    // could apply it twice.
    if (!read && timedOut) return problemResponse(problem(504, 'SERVICE_TIMEOUT', `${service} did not answer in time; the request may have been applied`))
    if (!read && delivered) return problemResponse(problem(502, 'SERVICE_FAILED', `${service} failed while handling the request; it may have been applied`))
    return problemResponse(problem(503, 'SERVICE_UNAVAILABLE', `${service} is not answering; try again shortly`), { 'Retry-After': '1' })
  })

  if (options.pages) app.route('/', options.pages((path, init) => app.request(path, init)))
  return app
}

/** The service that owns a public path: the first pattern that matches; none for a path that stays inside. */
export function serviceOf(routes: GatewayRoutes, path: string): string | undefined {
  return routes.find(([pattern]) => pattern.test(path))?.[1]
}

/** Whether fetch failed because nothing listened: the request never reached the service. */
function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause
  return cause?.code === 'ECONNREFUSED'
}

async function forward(request: Request, target: string, signal: AbortSignal): Promise<Response> {
  const headers = new Headers(request.headers)
  for (const name of HOP_BY_HOP) headers.delete(name)
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  const upstream = await fetch(target, {
    method: request.method,
    headers,
    redirect: 'manual',
    signal,
    ...(hasBody ? { body: request.body, duplex: 'half' } : {}),
  } as RequestInit)
  const answer = new Headers(upstream.headers)
  for (const name of HOP_BY_HOP) answer.delete(name)
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: answer })
}
