import { BoardClient } from '@tidings/board/test-kit'
import { startNatsServer, startProcess, TEST_CONSISTENCY_TIMEOUT_MS, TEST_DATABASE_POOL, type ManagedProcess, type TestEngine } from '@tidings/testing'

export interface AppCluster {
  cluster: ManagedProcess
  /** A client of the cluster's one entry point. */
  gateway: BoardClient
  stop(): Promise<void>
}

/**
 * `TIDINGS_APPS=<apps> npm run start:cluster` for a test: each service a process of its own on a fresh
 * PostgreSQL database, following the others over a throwaway NATS server, with `operatorSecret` as the
 * deployment's operator token.
 */
export async function startAppCluster(engine: TestEngine, apps: string, operatorSecret: string): Promise<AppCluster> {
  const nats = await startNatsServer()
  const cluster = startProcess(`${apps} cluster`, new URL('./cluster-main.ts', import.meta.url), {
    DATABASE_URL: (await engine.freshDatabase()).url,
    PORT: '0',
    TRANSPORT: 'nats',
    NATS_URL: nats.url,
    TIDINGS_APPS: apps,
    TIDINGS_OPERATOR_TOKEN: operatorSecret,
    TIDINGS_CONSISTENCY_TIMEOUT_MS: String(TEST_CONSISTENCY_TIMEOUT_MS),
    TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
    LOG_LEVEL: 'info',
  })
  const stop = async () => {
    await cluster.kill('SIGTERM')
    await nats.cleanup()
  }
  try {
    const ready = JSON.parse(await cluster.waitForLine((l) => l.includes('cluster listening'), 120_000)) as { port: number }
    return { cluster, gateway: new BoardClient(`http://127.0.0.1:${ready.port}`), stop }
  } catch (error) {
    await stop()
    throw error
  }
}
