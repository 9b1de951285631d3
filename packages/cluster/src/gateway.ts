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
}

/** Hop-by-hop headers (and what fetch has already undone) never cross a proxy. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', 'content-encoding']

/**
 * The one HTTP entry point of services that run as separate processes: each public path is passed to the
 * service that owns it (instances take turns, and a read goes to the next instance when one does not
 * answer); web pages, if any, are served here, as a client of that same API.
 */
export function gateway(options: GatewayOptions): Hono {
  const { logger } = options
  const app = createHttpApp({ logger })
  const turns = new Map<string, number>()
  const serviceOf = (path: string): string | undefined => options.routes.find(([pattern]) => pattern.test(path))?.[1]

  app.all('*', async (c, next) => {
    const service = serviceOf(c.req.path)
    if (!service) return next()
    const instances = options.instances(service)
    const first = turns.get(service) ?? 0
    turns.set(service, first + 1)
    const request = c.req.raw
    const url = new URL(request.url)
    // Only a read can be sent again to another instance: its body (none) has not been consumed.
    const read = request.method === 'GET' || request.method === 'HEAD'
    const tries = read ? instances.length : 1
    let delivered = false
    for (let i = 0; i < tries; i++) {
      const target = instances[(first + i) % instances.length]!
      try {
        return await forward(request, `${target}${url.pathname}${url.search}`)
      } catch (error) {
        if (request.signal.aborted) throw error
        delivered ||= !connectionRefused(error)
        logger.warn({ err: error, service, target }, 'a service instance did not answer')
      }
    }
    // A write that reached an instance may have been applied before the connection failed: "try again"
    // could apply it twice.
    if (!read && delivered) return problemResponse(problem(502, 'SERVICE_FAILED', `${service} failed while handling the request; it may have been applied`))
    return problemResponse(problem(503, 'SERVICE_UNAVAILABLE', `${service} is not answering; try again shortly`), { 'Retry-After': '1' })
  })

  if (options.pages) app.route('/', options.pages((path, init) => app.request(path, init)))
  return app
}

/** Whether fetch failed because nothing listened: the request never reached the service. */
function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause
  return cause?.code === 'ECONNREFUSED'
}

async function forward(request: Request, target: string): Promise<Response> {
  const headers = new Headers(request.headers)
  for (const name of HOP_BY_HOP) headers.delete(name)
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  const upstream = await fetch(target, {
    method: request.method,
    headers,
    redirect: 'manual',
    signal: request.signal,
    ...(hasBody ? { body: request.body, duplex: 'half' } : {}),
  } as RequestInit)
  const answer = new Headers(upstream.headers)
  for (const name of HOP_BY_HOP) answer.delete(name)
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: answer })
}
