import { checkPartitionReader, checkPositiveIntegers, type PartitionReader, type Publisher, type Transport } from '@tidings/core'
import type { Connection } from 'rabbitmq-client'
import { checkPrefix, queueName } from './names'
import { closeChannel, closeConnection, openChannel, openConnection, within, type ConnectionSettings } from './rabbitmq-connection'
import { attempt } from './rabbitmq-errors'
import { RabbitMqPartitionReader } from './rabbitmq-partition-reader'
import { RabbitMqPublisher } from './rabbitmq-publisher'

export interface RabbitMqTransportOptions {
  /** `amqp://user:password@host:port[/vhost]`. */
  url: string
  /** How many partitions every source is split into; default 4. Never change it for a live source. */
  partitions?: number
  /** The transport's name, also the connection name RabbitMQ shows; default `rabbitmq`. */
  name?: string
  /** The first part of every queue name, `<prefix>.<source>.<partition>`; default `tidings`. */
  prefix?: string
  /** Publishes awaiting their confirm at once; default 256. */
  maxInFlight?: number
  /** Messages a reader's consumer may have delivered ahead of the pages handed out; default 1,000. */
  prefetch?: number
  /**
   * How long a stream keeps messages (`x-max-age`, e.g. `7D`, `12h`); default 7 days. A reader further
   * behind has lost them (as with outbox retention). Fixed when a queue is declared: declaring it again
   * with another age fails (change it with a policy instead).
   */
  maxAge?: string
  /** How long connecting, opening a channel or any one broker answer but a confirm may take; default 5 s. */
  timeoutMs?: number
  /**
   * How long a publisher waits for a confirm before it gives the batch up; default 30 s. Long on purpose:
   * while RabbitMQ restarts a stream's writer, confirms take seconds, and giving up then can leave a gap
   * that the retry fills behind later events (see `RabbitMqPublisher`).
   */
  confirmTimeoutMs?: number
  /** The first pause between reconnect attempts; default 100 ms (connections retry forever). */
  reconnectWaitMs?: number
  /**
   * How long a new consumer waits for a first delivery before a read that would not wait, or `lag`, takes
   * its partition for empty (RabbitMQ never says a stream has nothing more); default 1 s. Only reads of an
   * empty partition (or past its end) right after re-positioning pay it.
   */
  settleMs?: number
}

/** Connects (failing with kind `unavailable` when RabbitMQ does not answer) and returns the transport. */
export async function rabbitmqTransport(options: RabbitMqTransportOptions): Promise<RabbitMqTransport> {
  const name = options.name ?? 'rabbitmq'
  const partitions = options.partitions ?? 4
  const maxInFlight = options.maxInFlight ?? 256
  const prefetch = options.prefetch ?? 1_000
  const timeoutMs = options.timeoutMs ?? 5_000
  const settleMs = options.settleMs ?? 1_000
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 30_000
  checkPositiveIntegers({ partitions, maxInFlight, prefetch, timeoutMs, confirmTimeoutMs, settleMs })
  const prefix = checkPrefix(options.prefix ?? 'tidings')
  const maxAge = options.maxAge ?? '7D'
  if (!/^[1-9][0-9]*[YMDhms]$/.test(maxAge)) throw new RangeError(`maxAge must be like 7D, 12h or 30m, not ${JSON.stringify(maxAge)}`)
  const settings: ConnectionSettings = { url: options.url, name, timeoutMs, reconnectWaitMs: options.reconnectWaitMs ?? 100 }
  const connection = await openConnection(settings)
  // Publishers connect on their own and fail at once while no server answers (the relay retries).
  const connectPublisher = () => openConnection({ ...settings, name: `${name}-publisher` })
  return new RabbitMqTransport(connection, connectPublisher, { name, partitions, prefix, maxInFlight, prefetch, maxAge, timeoutMs, confirmTimeoutMs, settleMs })
}

interface TransportSettings {
  name: string
  partitions: number
  prefix: string
  maxInFlight: number
  prefetch: number
  maxAge: string
  timeoutMs: number
  confirmTimeoutMs: number
  settleMs: number
}

/**
 * RabbitMQ streams as a Tidings transport: a stream queue per partition of a source (`x-queue-type:
 * stream`: an append-only log a consumer can read from any offset, again and again, which a quorum or
 * classic queue cannot do for a rebuild), published to with confirms (see `RabbitMqPublisher`) and read
 * by offset (see `RabbitMqPartitionReader`). The connection reconnects by itself; while RabbitMQ is down,
 * every operation fails with kind `unavailable`.
 */
export class RabbitMqTransport implements Transport {
  readonly name: string
  readonly partitions: number
  private readonly readers = new Set<RabbitMqPartitionReader>()
  private readonly publishers = new Set<RabbitMqPublisher>()

  constructor(
    private readonly connection: Connection,
    private readonly connectPublisher: () => Promise<Connection>,
    private readonly settings: TransportSettings,
  ) {
    this.name = settings.name
    this.partitions = settings.partitions
  }

  /** The stream queue that holds one partition of a source on this transport. */
  queueOf(source: string, partition: number): string {
    return queueName(this.settings.prefix, source, partition)
  }

  /** Declares the source's stream queues (durable, `x-max-age`); declaring them again changes nothing. */
  async declare(source: string): Promise<void> {
    const queues = Array.from({ length: this.partitions }, (_, p) => this.queueOf(source, p))
    const operation = `declare ${this.queueOf(source, 0).replace(/\.0$/, '.*')}`
    const { timeoutMs, maxAge } = this.settings
    const channel = await within(openChannel(this.connection, operation), timeoutMs, operation)
    try {
      for (const queue of queues) {
        await attempt(operation, () => within(channel.queueDeclare({ queue, durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': maxAge } }), timeoutMs, operation))
      }
    } finally {
      await closeChannel(channel, timeoutMs)
    }
  }

  publisher(): Publisher {
    const { partitions, maxInFlight, timeoutMs, confirmTimeoutMs } = this.settings
    const publisher: RabbitMqPublisher = new RabbitMqPublisher({
      connect: this.connectPublisher,
      queueOf: (source, p) => this.queueOf(source, p),
      partitions,
      maxInFlight,
      timeoutMs,
      confirmTimeoutMs,
      onClose: () => this.publishers.delete(publisher),
    })
    this.publishers.add(publisher)
    return publisher
  }

  partition(source: string, partition: number, consumer: string): PartitionReader {
    // Nothing of the consumer is kept on the broker (AMQP stream consumers have no stored offset).
    checkPartitionReader(partition, this.partitions, consumer)
    const { prefetch, settleMs, timeoutMs } = this.settings
    const reader: RabbitMqPartitionReader = new RabbitMqPartitionReader({
      connection: this.connection,
      producer: source,
      partition,
      queue: this.queueOf(source, partition),
      prefetch,
      settleMs,
      timeoutMs,
      onClose: () => this.readers.delete(reader),
    })
    this.readers.add(reader)
    return reader
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers].map((reader) => reader.close()))
    await Promise.all([...this.publishers].map((publisher) => publisher.close()))
    await closeConnection(this.connection, this.settings.timeoutMs)
  }
}
