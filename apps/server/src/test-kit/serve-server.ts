import { fragileService, type FragileService } from '@tidings/console'
import { serveHttp, serviceContext } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { TEST_CONSISTENCY_TIMEOUT_MS } from '@tidings/testing'
import { composeServer, type Server } from '../server'

export const OPERATOR_TOKEN = 'operator-token-for-tests'

export interface ServedServer {
  server: Server
  baseUrl: string
  /** A service beside the apps whose consumer fails on poison labels until fixed. */
  fragile: FragileService
  stop(): Promise<void>
}

/** What `npm start` runs, plus the fragile service, on a database, served on a free port, started. */
export async function serveServer(db: Database): Promise<ServedServer> {
  const ctx = serviceContext({ db, consistencyTimeoutMs: TEST_CONSISTENCY_TIMEOUT_MS, ...(db.engine === 'pglite' ? { instanceId: 'embedded' } : {}) })
  const fragile = await fragileService(ctx)
  const server = await composeServer(ctx, { operatorToken: OPERATOR_TOKEN, extraServices: [fragile.service] })
  await server.start()
  const http = await serveHttp(server.http, 0, { hostname: '127.0.0.1', ...(server.fastPath ? { fastPath: server.fastPath } : {}) })
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
