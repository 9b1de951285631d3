import { spawnSync } from 'node:child_process'
import type { Transport } from '@tidings/core'
import { natsTransport } from '@tidings/nats'
import { rabbitmqTransport } from '@tidings/rabbitmq'
import { redisTransport } from '@tidings/redis'
import { serverInstalled, startNatsServer, startRabbitMqServer, startRedisServer, type ThrowawayServer } from '@tidings/testing'
import type { Workbench } from './workbench'

export type BrokerKind = 'nats' | 'redis' | 'rabbitmq'

/**
 * A broker on a throwaway server of its own (`@tidings/testing`: a free port, a temporary data directory),
 * so a bench neither pollutes nor is slowed by the machine's shared servers. Every transport it hands out
 * has connections of its own, as a separate process would.
 */
export interface BenchBroker {
  readonly kind: BrokerKind
  /** Suffix of its figure ids: n, s, r (as 14r, 14s). */
  readonly id: string
  readonly name: string
  /** Server version and how it stores, for the conditions. */
  readonly about: string
  /** Where it listens: a process of the bench's own connects with `connectBroker(kind, url, …)`. */
  readonly url: string
  transport(partitions: number, name: string): Promise<Transport>
  stop(): Promise<void>
}

interface Recipe {
  id: string
  name: string
  /** The command `serverInstalled` asks for (RabbitMQ's `--version` would boot a node). */
  installed: () => boolean
  start: () => Promise<ThrowawayServer & { url: string }>
  version: () => string
  storage: string
  connect: (url: string, partitions: number, name: string) => Promise<Transport>
}

const RECIPES: Record<BrokerKind, Recipe> = {
  nats: {
    id: 'n',
    name: 'NATS JetStream',
    installed: () => serverInstalled('nats-server'),
    start: () => startNatsServer(),
    version: () => versionOf('nats-server', ['--version'], /v([\d.]+)/),
    storage: 'JetStream, file storage',
    connect: (url, partitions, name) => natsTransport({ servers: url, partitions, name }),
  },
  redis: {
    id: 's',
    name: 'Redis Streams',
    installed: () => serverInstalled('redis-server'),
    start: () => startRedisServer(),
    version: () => versionOf('redis-server', ['--version'], /v=([\d.]+)/),
    storage: 'append-only file, appendfsync always',
    connect: (url, partitions) => redisTransport({ url, partitions }),
  },
  rabbitmq: {
    id: 'r',
    name: 'RabbitMQ streams',
    installed: () => serverInstalled('rabbitmqctl'),
    start: () => startRabbitMqServer(),
    version: () => versionOf('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server'], /^([\d.]+)/),
    storage: 'stream queues',
    connect: (url, partitions, name) => rabbitmqTransport({ url, partitions, name }),
  },
}

/** A transport to a broker the parent process started (`BenchBroker.url`). */
export function connectBroker(kind: BrokerKind, url: string, partitions: number, name: string): Promise<Transport> {
  return RECIPES[kind].connect(url, partitions, `tidings-bench-${name}`)
}

/** Starts the broker's throwaway server; undefined (with a warning) when it is not installed. */
export async function startBroker(bench: Workbench, kind: BrokerKind): Promise<BenchBroker | undefined> {
  const recipe = RECIPES[kind]
  if (!recipe.installed()) {
    console.warn(`     SKIPPED ${recipe.name}: its server is not installed`)
    return undefined
  }
  const server = await recipe.start()
  const transports = new Set<Transport>()
  let stopping: Promise<void> | undefined
  const broker: BenchBroker = {
    kind,
    id: recipe.id,
    name: recipe.name,
    about: `${recipe.name}: ${kind} ${recipe.version()} (throwaway server, ${recipe.storage})`,
    url: server.url,
    async transport(partitions, name) {
      const transport = await recipe.connect(server.url, partitions, `tidings-bench-${name}`)
      transports.add(transport)
      const close = transport.close.bind(transport)
      // Closed by the bench, or at the latest when the broker stops.
      return Object.assign(transport, { close: () => (transports.delete(transport) ? close() : Promise.resolve()) })
    },
    stop: () =>
      (stopping ??= (async () => {
        for (const transport of [...transports]) await transport.close().catch(() => {})
        await server.cleanup()
      })()),
  }
  bench.adopt(() => broker.stop())
  return broker
}

function versionOf(command: string, args: string[], pattern: RegExp): string {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  return pattern.exec(`${result.stdout ?? ''}`.trim())?.[1] ?? '?'
}
