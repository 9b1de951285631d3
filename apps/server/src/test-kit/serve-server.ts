import { fragileService, type FragileService } from '@tidings/console'
import { serveHttp, serviceContext, servingOf } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { TEST_CONSISTENCY_TIMEOUT_MS } from '@tidings/testing'
import { composeServer, type Server, type ServerOptions } from '../server'

export const OPERATOR_TOKEN = 'operator-token-for-tests'

export interface ServedServer {
  server: Server
  baseUrl: string
  /** A service beside the apps whose consumer fails on poison labels until fixed. */
  fragile: FragileService
  stop(): Promise<void>
}

/** What `npm start` runs, plus the fragile service, on a database, served on a free port, started; `options` as a test needs them (the concert system's settings). */
export async function serveServer(db: Database, options: Pick<ServerOptions, 'concert' | 'demoConcert'> = {}): Promise<ServedServer> {
  const ctx = serviceContext({ db, consistencyTimeoutMs: TEST_CONSISTENCY_TIMEOUT_MS, ...(db.engine === 'pglite' ? { instanceId: 'embedded' } : {}) })
  const fragile = await fragileService(ctx)
  const server = await composeServer(ctx, { ...options, operatorToken: OPERATOR_TOKEN, extraServices: [fragile.service] })
  await server.start()
  const http = await serveHttp(server.http, 0, { hostname: '127.0.0.1', ...servingOf(server) })
  return {
    server,
    fragile,
    baseUrl: `http://127.0.0.1:${http.port}`,
    async stop() {
      await server.stop()
      await http.close()
    },
  }
}
