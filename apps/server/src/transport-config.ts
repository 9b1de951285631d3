import type { EvictionBus, Logger, Transport } from '@tidings/core'
import { natsTransport } from '@tidings/nats'
import { rabbitmqTransport } from '@tidings/rabbitmq'
import { redisDocuments, redisEvictionBus, redisTransport, type RedisDocuments } from '@tidings/redis'

export const TRANSPORTS = ['nats', 'redis', 'rabbitmq'] as const
export type TransportName = (typeof TRANSPORTS)[number]

/**
 * The broker between the services, chosen by `TRANSPORT` (nats | redis | rabbitmq) at `NATS_URL`,
 * `REDIS_URL` or `RABBITMQ_URL` (local defaults), every source split into `TIDINGS_PARTITIONS` partitions (default 4; never change it
 * for a live source). Without `TRANSPORT` there is none: consumers read the producers' feeds directly.
 * Streams are named after the sources: one deployment per broker.
 */
export async function transportFromEnv(env: NodeJS.ProcessEnv): Promise<Transport | undefined> {
  const name = env.TRANSPORT || undefined
  if (name === undefined) return undefined
  if (!(TRANSPORTS as readonly string[]).includes(name)) throw new Error(`TRANSPORT must be one of ${TRANSPORTS.join(', ')}, not ${name}`)
  const partitions = Number(env.TIDINGS_PARTITIONS ?? 4)
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`TIDINGS_PARTITIONS must be a positive integer, not ${env.TIDINGS_PARTITIONS}`)
  switch (name as TransportName) {
    case 'nats':
      return natsTransport({ servers: env.NATS_URL ?? '127.0.0.1:4222', partitions })
    case 'redis':
      return redisTransport({ url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', partitions })
    case 'rabbitmq':
      return rabbitmqTransport({ url: env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672', partitions })
  }
}

/**
 * `EVICTIONS=redis`: the instances of a read side tell each other which documents changed over Redis
 * pub/sub at `REDIS_URL` (local default). Without it, evictions stay in process.
 */
export async function evictionBusFromEnv(env: NodeJS.ProcessEnv, logger: Logger): Promise<EvictionBus | undefined> {
  const name = env.EVICTIONS || undefined
  if (name === undefined) return undefined
  if (name !== 'redis') throw new Error(`EVICTIONS must be redis (or unset), not ${name}`)
  return redisEvictionBus({ url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', logger })
}

/**
 * `DOCUMENTS=redis`: a read side keeps its documents in Redis at `REDIS_URL` (local default; keys under
 * `tidings:docs`) instead of PostgreSQL rows. Without it, they are rows in the read side's own schema.
 */
export async function documentsFromEnv(env: NodeJS.ProcessEnv): Promise<RedisDocuments | undefined> {
  const name = env.DOCUMENTS || undefined
  if (name === undefined) return undefined
  if (name !== 'redis') throw new Error(`DOCUMENTS must be redis (or unset), not ${name}`)
  return redisDocuments({ url: env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
}
