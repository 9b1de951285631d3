import { spawnSync } from 'node:child_process'
import type { Envelope, Transport } from '@tidings/core'
import { serverInstalled, startNatsServer, startRabbitMqServer, startRedisServer, type ThrowawayServer } from '@tidings/testing'
import { serverPid, type ServerProcess } from './cpu'
import type { Throughput } from './load'
import { natsAt, openNats, probeNats } from './nats-broker'
import { openRabbitMq, probeRabbitMq, rabbitmqAt } from './rabbitmq-broker'
import { openRedis, probeRedis, redisAt } from './redis-broker'
import type { Workbench } from './workbench'

export type BrokerKind = 'nats' | 'redis' | 'rabbitmq'

/** What a bench sets of a transport; the rest is the transport's default. */
export interface TransportOptions {
  partitions: number
  /** The connections' name after `tidings-bench-` (where the transport names them). */
  name: string
  maxInFlight?: number
  timeoutMs?: number
  /** What queue and stream names begin with (RabbitMQ, Redis). */
  prefix?: string
}

/** A transport with a raw client of the same library beside it, as each broker's module opens them. */
export interface OpenedBroker {
  readonly transport: Transport
  sender(source: string): (e: Envelope) => Promise<unknown>
  stored(source: string): Promise<number>
  /** Deletes the source's queues or streams. */
  drop(source: string): Promise<void>
  /** Closes the raw client and the transport. */
  close(): Promise<void>
}

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

/**
 * A broker already running at a URL (the machine's own server): the transport under test and, beside it,
 * a raw client of the same library for the raw ceilings, and for counting and deleting what a source left.
 */
export interface RunningBroker {
  readonly kind: BrokerKind
  /** Suffix of its figure ids: n, s, r (as 14r, 14s). */
  readonly id: string
  readonly name: string
  /** What the raw client calls to publish: "XADD". */
  readonly rawCall: string
  readonly transport: Transport
  /** Its server's process, for CPU per event (no pid when it runs elsewhere). */
  readonly server: ServerProcess
  /** Publishes an envelope to its partition of `source` as the publisher does; settles once confirmed. */
  sender(source: string): (e: Envelope) => Promise<unknown>
  /** How many messages the source's queues or streams hold. */
  stored(source: string): Promise<number>
  /** `work` on a fresh source declared by the transport, whose queues or streams are deleted after it (at `close` too). */
  withSource<T>(tag: string, work: (source: string) => Promise<T>): Promise<T>
  close(): Promise<void>
}

interface Recipe {
  id: string
  name: string
  /** Its server process, as CPU lines name it. */
  server: string
  rawCall: string
  /** The command `serverInstalled` asks for (RabbitMQ's `--version` would boot a node). */
  installed: () => boolean
  start: () => Promise<ThrowawayServer & { url: string }>
  version: () => string
  storage: string
  connect: (url: string, options: TransportOptions) => Promise<Transport>
  /** The process of a server listening at `url` on this machine. */
  pid: (url: string) => number | undefined
  /** Asks a running server for its version (where the client tells it); fails at once when none answers (a transport would wait for one). */
  probe: (url: string, timeoutMs: number) => Promise<string | undefined>
  open: (url: string, options: TransportOptions) => Promise<OpenedBroker>
}

const RECIPES: Record<BrokerKind, Recipe> = {
  nats: {
    id: 'n',
    name: 'NATS JetStream',
    server: 'NATS server',
    rawCall: 'js.publish',
    installed: () => serverInstalled('nats-server'),
    start: () => startNatsServer(),
    version: () => versionOf('nats-server', ['--version'], /v([\d.]+)/),
    storage: 'JetStream, file storage',
    connect: natsAt,
    pid: (url) => {
      const port = new URL(url).port || '4222'
      return serverPid('nats-server', (args) => args.some((a, i) => a === port && ['-p', '--port'].includes(args[i - 1] ?? '')))
    },
    probe: probeNats,
    open: openNats,
  },
  redis: {
    id: 's',
    name: 'Redis Streams',
    server: 'Redis',
    rawCall: 'XADD',
    installed: () => serverInstalled('redis-server'),
    start: () => startRedisServer(),
    version: () => versionOf('redis-server', ['--version'], /v=([\d.]+)/),
    storage: 'append-only file, appendfsync always',
    connect: redisAt,
    pid: (url) => {
      const port = new URL(url).port || '6379'
      return serverPid('redis-server', (args) => args.join(' ').includes(`:${port}`))
    },
    probe: probeRedis,
    open: openRedis,
  },
  rabbitmq: {
    id: 'r',
    name: 'RabbitMQ streams',
    server: 'RabbitMQ',
    rawCall: 'basicPublish',
    installed: () => serverInstalled('rabbitmqctl'),
    start: () => startRabbitMqServer(),
    version: () => versionOf('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server'], /^([\d.]+)/),
    storage: 'stream queues',
    connect: rabbitmqAt,
    // The Debian service's node.
    pid: () => serverPid('beam.smp', (args) => args.some((a, i) => a === '/var/lib/rabbitmq' && args[i - 1] === '-home')),
    probe: probeRabbitMq,
    open: openRabbitMq,
  },
}

/** A transport to a broker the parent process started (`BenchBroker.url`). */
export function connectBroker(kind: BrokerKind, url: string, partitions: number, name: string): Promise<Transport> {
  return RECIPES[kind].connect(url, { partitions, name })
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
  const broker: BenchBroker = {
    kind,
    id: recipe.id,
    name: recipe.name,
    about: `${recipe.name}: ${kind} ${recipe.version()} (throwaway server, ${recipe.storage})`,
    url: server.url,
    async transport(partitions, name) {
      const transport = await recipe.connect(server.url, { partitions, name })
      transports.add(transport)
      const close = transport.close.bind(transport)
      // Closed by the bench, or at the latest when the broker stops.
      return Object.assign(transport, { close: () => (transports.delete(transport) ? close() : Promise.resolve()) })
    },
    stop: once(async () => {
      for (const transport of [...transports]) await transport.close().catch(() => {})
      await server.cleanup()
    }),
  }
  bench.adopt(() => broker.stop())
  return broker
}

/** The version of the server running at `url` (undefined where its client does not tell); throws at once when none answers. */
export function probeBroker(kind: BrokerKind, url: string, timeoutMs: number): Promise<string | undefined> {
  return RECIPES[kind].probe(url, timeoutMs)
}

/**
 * The transport and the raw client of a broker running at `url`. Sources are `bench.<name>_…`, unique to
 * the run; the broker closes with the bench at the latest.
 */
export async function openBroker(bench: Workbench, kind: BrokerKind, url: string, options: TransportOptions): Promise<RunningBroker> {
  const recipe = RECIPES[kind]
  const opened = await recipe.open(url, options)
  const live = new Set<string>()
  let counter = 0
  const drop = async (source: string) => {
    live.delete(source)
    await opened.drop(source)
  }
  const broker: RunningBroker = {
    kind,
    id: recipe.id,
    name: recipe.name,
    rawCall: recipe.rawCall,
    transport: opened.transport,
    server: { name: recipe.server, pid: recipe.pid(url) },
    sender: (source) => opened.sender(source),
    stored: (source) => opened.stored(source),
    async withSource(tag, work) {
      const source = `bench.${options.name}_${process.pid}_${Date.now().toString(36)}_${++counter}_${tag}`
      live.add(source)
      await opened.transport.declare(source)
      try {
        return await work(source)
      } finally {
        await drop(source)
      }
    },
    close: once(async () => {
      for (const source of [...live]) await drop(source)
      await opened.close()
    }),
  }
  bench.adopt(() => broker.close())
  return broker
}

/**
 * A raw ceiling: `send` (the client library alone, as the publisher uses it) for one envelope after the
 * other, one window of at most `maxInFlight` unconfirmed over the whole round. When the window is full it
 * waits until only `refillAt` remain: `maxInFlight − 1` is one send per confirm, `maxInFlight / 2` refills
 * in bursts. Stops at the deadline or when every envelope was sent (ids would repeat after that, and a
 * broker that dedupes drops repeats).
 */
export async function rawPublish(envelopes: Envelope[], source: string, send: (e: Envelope) => Promise<unknown>, ms: number, maxInFlight: number, refillAt: number): Promise<Throughput> {
  for (const e of envelopes) e.source = source
  const window: Array<Promise<unknown>> = []
  const start = performance.now()
  const deadline = start + ms
  let sent = 0
  while (sent < envelopes.length && performance.now() < deadline) {
    if (window.length >= maxInFlight) while (window.length > refillAt) await window.shift()!
    window.push(send(envelopes[sent++]!))
  }
  while (window.length > 0) await window.shift()!
  const elapsed = performance.now() - start
  return { ops: sent, ms: elapsed, perSecond: (sent * 1000) / elapsed }
}

/** `close` for both the round's end and the bench's cleanup: the first call closes, later ones wait for it. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => (closing ??= close())
}

function versionOf(command: string, args: string[], pattern: RegExp): string {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  return pattern.exec(`${result.stdout ?? ''}`.trim())?.[1] ?? '?'
}
