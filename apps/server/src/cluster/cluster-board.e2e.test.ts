import { serverInstalled, startProcess, startRedisServer, TEST_CONSISTENCY_TIMEOUT_MS, TEST_DATABASE_POOL, testEngines, type ThrowawayServer } from '@tidings/testing'
import { BoardClient, boardEndToEnd } from '@tidings/board/test-kit'
import { installedTestBrokers } from '../test-kit/test-brokers'

/**
 * The board's end-to-end suite across processes, on each broker: `npm run start:cluster` (every service a
 * process of its own, board.query twice) with `TRANSPORT=nats|redis|rabbitmq` on throwaway servers, the
 * read side's evictions over Redis, every request through the one entry point.
 */
const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[board] SKIPPED the board suite across processes: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')

if (engine && serverInstalled('redis-server')) {
  for (const broker of installedTestBrokers()) {
    boardEndToEnd(
      `the board suite across processes (npm run start:cluster), events over ${broker.transport}`,
      async () => {
        const servers: ThrowawayServer[] = []
        const cleanup = async () => {
          for (const server of servers.splice(0)) await server.cleanup()
        }
        try {
          const brokerServer = await broker.start()
          servers.push(brokerServer)
          const redis = broker.transport === 'redis' ? brokerServer : await startRedisServer()
          if (redis !== brokerServer) servers.push(redis)
          const cluster = startProcess(`cluster over ${broker.transport}`, new URL('./cluster-main.ts', import.meta.url), {
            DATABASE_URL: (await engine.freshDatabase()).url,
            PORT: '0',
            REDIS_URL: redis.url,
            ...broker.env(brokerServer.url),
            TIDINGS_CONSISTENCY_TIMEOUT_MS: String(TEST_CONSISTENCY_TIMEOUT_MS),
            TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
            TIDINGS_APPS: 'board',
            LOG_LEVEL: 'info',
          })
          const ready = JSON.parse(await cluster.waitForLine((l) => l.includes('cluster listening'), 120_000)) as { port: number }
          return {
            client: new BoardClient(`http://127.0.0.1:${ready.port}`),
            stop: async () => {
              await cluster.kill('SIGTERM')
              await cleanup()
            },
          }
        } catch (error) {
          await cleanup()
          throw error
        }
      },
      { inProcess: false, timeoutMs: 180_000 },
    )
  }
}
