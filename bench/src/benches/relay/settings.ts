import type { TransportOptions } from '../../lib/brokers'
import { SCALE } from '../../lib/env'

/** Where the machine's own brokers listen: the relay bench measures those (not throwaway servers). */
export const NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222'
export const RABBITMQ_URL = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

export const PARTITIONS = 4
export const MAX_IN_FLIGHT = 256
export const TIMEOUT_MS = 5_000

/** Every broker's transport: the publisher under test and, beside it, the raw client at the same window. */
export const TRANSPORT: TransportOptions = { partitions: PARTITIONS, maxInFlight: MAX_IN_FLIGHT, timeoutMs: TIMEOUT_MS, prefix: `tidings-bench-${process.pid}`, name: 'relay' }

/** Outbox events per relay round: a few seconds at the raw rates (~6–16k events/s on this machine). */
export const SERVER_EVENTS = Math.max(4_000, Math.round(24_000 * SCALE))
export const EMBEDDED_EVENTS = Math.max(4_000, Math.round(16_000 * SCALE))

/** The relay's pool on PostgreSQL, by which its backends are found for their CPU time. */
export const APPLICATION = 'tidings-bench-relay'

export type Engine = 'postgres' | 'pglite'

/** The engine as figures and details name it. */
export function engineName(engine: Engine): string {
  return engine === 'postgres' ? 'PostgreSQL' : 'PGlite'
}
