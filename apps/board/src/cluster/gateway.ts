import { createHttpApp, problem, problemResponse, RouteNotFound } from '@tidings/http'
import type { Logger } from '@tidings/core'
import type { Hono } from 'hono'
import { boardWeb } from '../web/board-web.routes'
import { serviceOf, type BoardServiceName } from './board-routes'

export interface GatewayOptions {
  /** Where each service's instances listen; requests to a service take turns over its instances. */
  instances(service: BoardServiceName): readonly string[]
  logger: Logger
  secureCookies?: boolean
}

/** Hop-by-hop headers (and what fetch has already undone) never cross a proxy. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', 'content-encoding']

/**
 * The one HTTP entry point of a board whose services run as separate processes: the public API is passed
 * to the service that owns each path (the read side's instances take turns, and a read goes to the next
 * instance when one does not answer), and the web pages are served here, as a client of that same API.
 */
export function boardGateway(options: GatewayOptions): Hono {
  const { logger } = options
  const app = createHttpApp({ logger })
  const turns = new Map<BoardServiceName, number>()

  app.all('/api/*', async (c) => {
    const service = serviceOf(c.req.path)
    if (!service) throw new RouteNotFound(c.req.method, c.req.path)
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

  app.route('/', boardWeb({ api: (path, init) => app.request(path, init), logger, ...(options.secureCookies ? { secureCookies: true } : {}) }))
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
