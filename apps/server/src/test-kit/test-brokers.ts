import { serverInstalled, startNatsServer, startRabbitMqServer, startRedisServer, type ThrowawayServer } from '@tidings/testing'
import type { TransportName } from '../transport-config'

/** A broker the board's processes can run over in a test: a throwaway server and how to point them at it. */
export interface TestBroker {
  transport: TransportName
  start(): Promise<ThrowawayServer & { url: string }>
  /** The environment that makes a board process use this server (`transportFromEnv`). */
  env(url: string): Record<string, string>
}

const BROKERS: Array<TestBroker & { command: string }> = [
  { transport: 'nats', command: 'nats-server', start: () => startNatsServer(), env: (url) => ({ TRANSPORT: 'nats', NATS_URL: url }) },
  { transport: 'redis', command: 'redis-server', start: () => startRedisServer(), env: (url) => ({ TRANSPORT: 'redis', REDIS_URL: url }) },
  // `rabbitmq-server --version` would boot a node: rabbitmqctl tells whether it is installed.
  { transport: 'rabbitmq', command: 'rabbitmqctl', start: () => startRabbitMqServer(), env: (url) => ({ TRANSPORT: 'rabbitmq', RABBITMQ_URL: url }) },
]

/** Every broker whose server is installed here (a missing one is skipped and said so; in CI it fails the run). */
export function installedTestBrokers(): TestBroker[] {
  return BROKERS.filter((broker) => serverInstalled(broker.command))
}
