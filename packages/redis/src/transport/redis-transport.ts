import { checkPartitionReader, checkPositiveIntegers, type PartitionReader, type Publisher, type Transport } from '@tidings/core'
import { closeConnection, commandConnection, type RedisLink } from '../redis-connection'
import { attempt } from '../redis-errors'
import { checkPrefix, streamKey } from './names'
import { RedisPartitionReader } from './redis-partition-reader'
import { RedisPublisher } from './redis-publisher'

export interface RedisTransportOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string
  /** How many partitions every source is split into; default 4. Never change it for a live source. */
  partitions?: number
  /** The first part of every stream key, `<prefix>:<source>:<partition>`; default `tidings`. */
  prefix?: string
  /** XADDs awaiting Redis' answer at once; default 256. */
  maxInFlight?: number
  /**
   * Trims every partition stream to about this many entries on each XADD (`MAXLEN ~`); default: no
   * trimming. A reader further behind than that has lost events (as with outbox retention).
   */
  maxLen?: number
}

/** Connects (failing with kind `unavailable` when Redis does not answer) and returns the transport. */
export async function redisTransport(options: RedisTransportOptions): Promise<RedisTransport> {
  const partitions = options.partitions ?? 4
  const maxInFlight = options.maxInFlight ?? 256
  const prefix = options.prefix ?? 'tidings'
  checkPositiveIntegers({ partitions, maxInFlight, ...(options.maxLen !== undefined ? { maxLen: options.maxLen } : {}) })
  checkPrefix(prefix)
  const redis = commandConnection(options.url, 'tidings')
  try {
    await attempt('connect', () => redis.ping())
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return new RedisTransport(redis, { url: options.url, partitions, prefix, maxInFlight, maxLen: options.maxLen })
}

/**
 * Redis Streams as a Tidings transport: one stream per partition of a source, published to with XADD and
 * read by entry id through a consumer group per consumer (see `RedisPartitionReader`). Connections
 * reconnect by themselves; while Redis is down, every operation fails with kind `unavailable`.
 */
export class RedisTransport implements Transport {
  readonly name = 'redis'
  readonly partitions: number
  private readonly readers = new Set<RedisPartitionReader>()

  constructor(
    private readonly redis: RedisLink,
    private readonly settings: { url: string; partitions: number; prefix: string; maxInFlight: number; maxLen: number | undefined },
  ) {
    this.partitions = settings.partitions
  }

  /** The stream that holds one partition of a source on this transport. */
  keyOf(source: string, partition: number): string {
    return streamKey(this.settings.prefix, source, partition)
  }

  /**
   * Nothing to create ahead: XADD creates a partition's stream, and a reader creates its consumer group
   * (with the stream, MKSTREAM) on its first read.
   */
  async declare(source: string): Promise<void> {
    if (source.length === 0) throw new RangeError('a source needs a name')
  }

  publisher(): Publisher {
    const { partitions, maxInFlight, maxLen } = this.settings
    return new RedisPublisher(this.redis, (source, p) => this.keyOf(source, p), partitions, maxInFlight, maxLen)
  }

  partition(source: string, partition: number, consumer: string): PartitionReader {
    checkPartitionReader(partition, this.partitions, consumer)
    const reader: RedisPartitionReader = new RedisPartitionReader({
      url: this.settings.url,
      redis: this.redis,
      producer: source,
      partition,
      consumer,
      key: this.keyOf(source, partition),
      onClose: () => this.readers.delete(reader),
    })
    this.readers.add(reader)
    return reader
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers].map((reader) => reader.close()))
    await closeConnection(this.redis)
  }
}
