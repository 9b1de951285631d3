import { serveHttp } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { TEST_CONSISTENCY_TIMEOUT_MS } from '@tidings/testing'
import { composeBoard, type Board } from '../board'
import { BoardClient } from './board-client'

/** The service credential of boards served by tests: what a test presents to read `/internal` and feed routes. */
export const TEST_SERVICE_CREDENTIAL = 'service-credential-for-tests'

export interface ServedBoard {
  board: Board
  client: BoardClient
  stop(): Promise<void>
}

/** The whole board on a database, served on a free port, started. */
export async function serveBoard(db: Database): Promise<ServedBoard> {
  const board = await composeBoard({ db, consistencyTimeoutMs: TEST_CONSISTENCY_TIMEOUT_MS, serviceCredential: TEST_SERVICE_CREDENTIAL })
  await board.start()
  const server = await serveHttp(board.http, 0, { hostname: '127.0.0.1', ...(board.fastPath ? { fastPath: board.fastPath } : {}) })
  return {
    board,
    client: new BoardClient(`http://127.0.0.1:${server.port}`),
    async stop() {
      await board.stop()
      await server.close()
    },
  }
}
