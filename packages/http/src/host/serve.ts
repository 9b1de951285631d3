import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { getRequestListener, RequestError } from '@hono/node-server'
import { PayloadTooLarge } from '@tidings/core'
import type { Hono } from 'hono'
import { bodyLimitOf, DEFAULT_BODY_LIMIT_BYTES, NOSNIFF } from '../create-http-app'
import { problem, problemOf, PROBLEM_CONTENT_TYPE, problemResponse } from '../problem'

export interface ServeOptions {
  hostname?: string
  /** How long `close()` lets requests in flight (long polls included) finish before it cuts them; default 5 s. */
  graceMs?: number
  /**
   * Answers a request before the app when it can (returns true), e.g. a hot document straight from an
   * in-process cache; otherwise the app gets it. It bypasses the app's middleware: keep it to reads whose
   * answer needs none of it.
   */
  fastPath?: FastPath
  /**
   * Takes a request to switch protocols (a WebSocket) when it is for it (returns true); any other is
   * answered 404 and closed. An upgraded connection is the taker's: it must end it before the server closes.
   */
  upgrade?: Upgrade
  /**
   * The largest request body, in bytes: a request that declares more and asks `Expect: 100-continue` is
   * refused with 413 before the client is told to send it. Default: the limit of the app when
   * `createHttpApp` made it, else 1 MiB.
   */
  bodyLimitBytes?: number
  /** How long a connection closed with an unread request body keeps reading (and dropping) it; default 2 s. */
  lingerMs?: number
}

export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean

/** Asks each fast path in turn; none given → none. */
export function fastPathOf(paths: readonly (FastPath | undefined)[]): FastPath | undefined {
  const present = paths.filter((path): path is FastPath => path !== undefined)
  if (present.length <= 1) return present[0]
  return (req, res) => present.some((answer) => answer(req, res))
}

export type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean

export interface RunningServer {
  /** The port actually bound: pass 0 to get a free one. */
  readonly port: number
  /** Stops taking connections, lets requests in flight finish (up to the grace period), then resolves. */
  close(): Promise<void>
}

/** Serves a Hono app on Node's HTTP server; resolves once it listens. */
export function serveHttp(app: Pick<Hono, 'fetch'>, port: number, options: ServeOptions = {}): Promise<RunningServer> {
  const graceMs = options.graceMs ?? 5_000
  const bodyLimit = options.bodyLimitBytes ?? bodyLimitOf(app) ?? DEFAULT_BODY_LIMIT_BYTES
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS
  let closing = false
  return new Promise((resolve, reject) => {
    const fastPath = options.fastPath
    const listener = getRequestListener(app.fetch, { ...(options.hostname ? { hostname: options.hostname } : {}), errorHandler: requestFailed })
    const server = createHttpServer((req, res) => {
      if (!fastPath?.(req, res)) void listener(req, res)
    })
    // Upgraded connections are no longer the HTTP server's to close: kept here, cut when the grace period ends.
    const upgraded = new Set<Duplex>()
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (closing || !options.upgrade?.(req, socket, head)) return refuseUpgrade(socket)
      upgraded.add(socket)
      socket.once('close', () => upgraded.delete(socket))
    })
    // A client (the cluster's gateway, a load balancer) must give up an idle connection before the
    // server does: a request sent on a connection the server is closing is lost, and a write cannot
    // be sent again (it may have been applied). Clients keep idle connections a few seconds (fetch:
    // the server's hint less a second or two); the server keeps them a minute.
    server.keepAliveTimeout = KEEP_ALIVE_MS
    server.headersTimeout = KEEP_ALIVE_MS + 1_000
    server.once('error', reject)
    server.listen(port, options.hostname, () => {
      server.off('error', reject)
      resolve({
        port: (server.address() as AddressInfo).port,
        close: once(() => {
          closing = true
          return closeGracefully(server, graceMs, () => upgraded.forEach((socket) => socket.destroy()))
        }),
      })
    })
    guardRequestBodies(server, bodyLimit, lingerMs)
    // A keep-alive connection whose last request finishes during shutdown is idle from then on: close it.
    server.on('request', (_req, res: ServerResponse) => {
      res.once('finish', () => {
        if (closing) setImmediate(() => server.closeIdleConnections())
      })
    })
  })
}

/**
 * What no Request can be made of (a Host header that is no host name, a backslash in the path) is the
 * client's mistake: 400 problem+json like every other refusal, not the adapter's bare 400. (Anything
 * else would be the app throwing past its own error handler: a 500 problem.)
 */
function requestFailed(error: unknown): Response {
  if (error instanceof RequestError) return problemResponse(problem(400, 'MALFORMED_REQUEST', 'The request line or its Host header is malformed'))
  return problemResponse(problemOf(error))
}

/** No one takes this protocol switch here: a plain 404, and the connection ends. */
function refuseUpgrade(socket: Duplex): void {
  socket.on('error', () => {})
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
}

const DEFAULT_LINGER_MS = 2_000
/** How long an idle keep-alive connection stays open (Node's default is 5 s, as short as its clients'). */
const KEEP_ALIVE_MS = 65_000

/** The last request each connection carried: whether its body was read to the end decides how it closes. */
const lastRequest = new WeakMap<Socket, IncomingMessage>()

/**
 * Node answers `Expect: 100-continue` itself, before the app sees the request, unless the server listens
 * for 'checkContinue': so a body the app would refuse unread was sent anyway, and the refusal, racing the
 * upload, could reach the client as a reset connection. Here a declared length over the limit is refused
 * (413, problem+json) without the 100; any other such request is told to continue and goes to the app.
 *
 * And a connection closed while the client is still sending (the app refused a body it has not read: too
 * large, streamed past the limit) closes lingering: the answer goes out with a FIN, the rest of the body is
 * read and dropped until the client hangs up or `lingerMs` passes. Closed at once, the kernel would answer
 * the bytes still arriving with a reset, which can destroy the answer before the client has read it.
 * Every response, these and the fast path's included, says `nosniff`.
 */
function guardRequestBodies(server: Server, limit: number, lingerMs: number): void {
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    lastRequest.set(req.socket, req)
    res.setHeader('X-Content-Type-Options', NOSNIFF)
  })
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length'] ?? 0) : 0
    if (req.method !== 'GET' && req.method !== 'HEAD' && declared > limit) {
      lastRequest.set(req.socket, req)
      const body = JSON.stringify(problemOf(new PayloadTooLarge(limit)))
      res.writeHead(413, {
        'Content-Type': PROBLEM_CONTENT_TYPE,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': NOSNIFF,
        Connection: 'close',
      })
      res.end(body)
      return
    }
    res.writeContinue()
    server.emit('request', req, res)
  })
  server.on('connection', (socket: Socket) => {
    const destroySoon = socket.destroySoon.bind(socket)
    let lingering = false
    socket.destroySoon = () => {
      const req = lastRequest.get(socket)
      if (req === undefined || req.complete || socket.destroyed) return destroySoon()
      if (lingering) return
      lingering = true
      // The request's body is already being dropped as it comes (Node dumps what no one read); once the
      // client has read the answer and hangs up, or the time is up, the socket goes.
      const timer = setTimeout(() => socket.destroy(), lingerMs)
      timer.unref()
      socket.once('close', () => clearTimeout(timer))
      socket.once('end', () => socket.destroy())
      socket.end()
    }
  })
}

function closeGracefully(server: Server, graceMs: number, cutUpgraded: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => {
      server.closeAllConnections()
      cutUpgraded()
    }, graceMs)
    force.unref()
    server.close((error) => {
      clearTimeout(force)
      if (error) reject(error)
      else resolve()
    })
    // Keep-alive connections that carry no request would otherwise hold the server open.
    server.closeIdleConnections()
  })
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined
  return () => (result ??= fn())
}
