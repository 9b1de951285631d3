import { documentConnection, type DocumentLink } from './document-connection'
import { closeConnection } from '../redis-connection'
import { RedisDocumentStore } from './redis-document-store'
import { attempt } from '../redis-errors'

export interface RedisDocumentsOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string
  /** The first part of every key, `<prefix>:{<collection>}:…`; default `tidings:docs`. */
  prefix?: string
}

/** Connects (failing with kind `unavailable` when Redis does not answer) and returns the collections on it. */
export async function redisDocuments(options: RedisDocumentsOptions): Promise<RedisDocuments> {
  const prefix = options.prefix ?? 'tidings:docs'
  if (prefix.length === 0) throw new RangeError('prefix must not be empty')
  const redis = documentConnection(options.url)
  try {
    await attempt('connect', () => redis.ping())
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return new RedisDocuments(redis, prefix)
}

/**
 * Read-model collections in one Redis, over one connection. The connection reconnects by itself; while
 * Redis is down every operation fails with kind `unavailable` (a subscription then retries, never
 * dead-letters).
 */
export class RedisDocuments {
  constructor(
    private readonly redis: DocumentLink,
    readonly prefix: string,
  ) {}

  collection<D extends object = Record<string, unknown>>(name: string): RedisDocumentStore<D> {
    return new RedisDocumentStore<D>(this.redis, this.prefix, name)
  }

  async close(): Promise<void> {
    await closeConnection(this.redis)
  }
}
