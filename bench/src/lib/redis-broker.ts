import { partitionOf } from '@tidings/core'
import { redisTransport, type RedisTransport } from '@tidings/redis'
import { Redis } from 'ioredis'
import type { OpenedBroker, TransportOptions } from './brokers'

/** Redis Streams' transport for a bench (its connections are not named). */
export function redisAt(url: string, options: TransportOptions): Promise<RedisTransport> {
  const { partitions, maxInFlight, prefix } = options
  return redisTransport({ url, partitions, maxInFlight, prefix })
}

/** The server's version, from a connection that does not retry. */
export async function probeRedis(url: string): Promise<string> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?'
  } finally {
    probe.disconnect()
  }
}

/** The transport and, beside it, XADD (pipelined, no MULTI) on a connection of the same client. */
export async function openRedis(url: string, options: TransportOptions): Promise<OpenedBroker> {
  const transport = await redisAt(url, options)
  const raw = new Redis(url, { connectionName: 'tidings-bench-raw' })
  raw.on('error', () => {})
  const keys = (source: string) => Array.from({ length: options.partitions }, (_, p) => transport.keyOf(source, p))
  return {
    transport,
    sender: (source) => {
      const targets = keys(source)
      return (e) => raw.xadd(targets[partitionOf(e.key, options.partitions)]!, '*', 'e', JSON.stringify(e), 'id', e.id)
    },
    stored: async (source) => (await Promise.all(keys(source).map((key) => raw.xlen(key)))).reduce((n, length) => n + length, 0),
    drop: async (source) => {
      await raw.del(...keys(source))
    },
    close: async () => {
      raw.disconnect()
      await transport.close()
    },
  }
}
