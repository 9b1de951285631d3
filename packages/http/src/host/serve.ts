import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'

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
}

export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean

export interface RunningServer {
  /** The port actually bound: pass 0 to get a free one. */
  readonly port: number
  /** Stops taking connections, lets requests in flight finish (up to the grace period), then resolves. */
  close(): Promise<void>
}

/** Serves a Hono app on Node's HTTP server; resolves once it listens. */
export function serveHttp(app: Pick<Hono, 'fetch'>, port: number, options: ServeOptions = {}): Promise<RunningServer> {
  const graceMs = options.graceMs ?? 5_000
  let closing = false
  return new Promise((resolve, reject) => {
    const fastPath = options.fastPath
    const createServer = fastPath
      ? (((serverOptions: ServerOptions, listener: RequestListener) =>
          createHttpServer(serverOptions, (req, res) => {
            if (!fastPath(req, res)) listener(req, res)
          })) as typeof createHttpServer)
      : undefined
    const server = serve({ fetch: app.fetch, port, ...(options.hostname ? { hostname: options.hostname } : {}), ...(createServer ? { createServer } : {}) }, (info: AddressInfo) => {
      server.off('error', reject)
      resolve({
        port: info.port,
        close: once(() => {
          closing = true
          return closeGracefully(server, graceMs)
        }),
      })
    }) as Server
    server.once('error', reject)
    // A keep-alive connection whose last request finishes during shutdown is idle from then on: close it.
    server.on('request', (_req, res: ServerResponse) => {
      res.once('finish', () => {
        if (closing) setImmediate(() => server.closeIdleConnections())
      })
    })
  })
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs)
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
