import type { Logger } from '@tidings/core'
import { serveHttp } from './serve'
import type { Database } from '@tidings/postgres'
import { servingOf, type Host } from './host'

/**
 * Serves a host until SIGTERM or SIGINT, then shuts down gracefully: no new requests, messages in flight
 * finished, subscriptions, other connections (`closing`: a broker, an eviction bus) and the database closed.
 */
export async function runUntilSignalled(options: {
  host: Host
  db: Database
  closing?: ReadonlyArray<{ close(): Promise<unknown> } | undefined>
  port: number
  /** The address to listen on (default: every interface). */
  hostname?: string | undefined
  logger: Logger
  name: string
  storage: string
}): Promise<void> {
  const { host, db, logger } = options
  await host.start()
  const server = await serveHttp(host.http, options.port, { ...servingOf(host), ...(options.hostname ? { hostname: options.hostname } : {}) })
  // The bound address is logged too: `localhost` in the URL says nothing of who else can connect.
  logger.info({ port: server.port, address: options.hostname ?? 'every interface', storage: options.storage }, `${options.name} listening on http://localhost:${server.port}`)
  // A supervisor over an IPC channel (the board cluster) learns the port whatever the log level.
  process.send?.({ listening: server.port })

  let stopping = false
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: no new requests, finishing messages in flight')
    await host.stop()
    await server.close()
    for (const resource of options.closing ?? []) await resource?.close()
    await db.close()
    logger.info({}, 'stopped')
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
}
