import { StorageType, type StreamConfig } from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'
import { checkPartitionReader, checkPositiveIntegers, type Publisher, type Transport } from '@tidings/core'
import { BrokerConnection } from './nats-connection'
import { NatsPartitionReader } from './nats-partition-reader'
import { NatsPublisher } from './nats-publisher'
import { partitionSubject, sourceSubjects, streamName } from './names'

export interface NatsTransportOptions {
  servers: string | string[]
  /** How many partitions every source is split into; default 4. Never change it for a live source. */
  partitions?: number
  /** The transport's name, also the client name NATS shows for the connection; default `nats`. */
  name?: string
  /** Publishes awaiting their PubAck at once; default 256. */
  maxInFlight?: number
  /** How long JetStream remembers a message id to drop a repeat; default 2 minutes. */
  duplicateWindowMs?: number
  /** How long one broker request (a PubAck, an API call, an ack, a pull) may take; default 5 s. */
  timeoutMs?: number
  /** The pause between reconnect attempts; default 250 ms (the connection retries forever). */
  reconnectWaitMs?: number
}

/** Events stay on the broker this long; a reader further behind has lost them (as with outbox retention). */
const MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000

/** Connects (waiting for a server that is not up yet) and returns the transport. */
export async function natsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  const name = options.name ?? 'nats'
  const timeoutMs = options.timeoutMs ?? 5_000
  const partitions = options.partitions ?? 4
  const maxInFlight = options.maxInFlight ?? 256
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000
  checkPositiveIntegers({ partitions, maxInFlight })
  if (!(duplicateWindowMs > 0 && duplicateWindowMs <= MAX_AGE_MS)) throw new RangeError(`duplicateWindowMs must be within (0, 7 days], not ${duplicateWindowMs}`)
  const connectionOptions = { servers: options.servers, name, timeoutMs, reconnectWaitMs: options.reconnectWaitMs ?? 250 }
  const connection = await BrokerConnection.open(connectionOptions)
  // Publishers connect on their own and fail at once while no server answers (the relay retries).
  const connectPublisher = () => BrokerConnection.open({ ...connectionOptions, name: `${name}-publisher`, waitOnFirstConnect: false })
  return new NatsTransport(connection, connectPublisher, name, partitions, maxInFlight, duplicateWindowMs)
}

/**
 * NATS JetStream as a Tidings transport: a stream per source (`TIDINGS_<source>`, subjects
 * `tidings.<source>.<partition>`), publishing deduplicated by envelope id, and every partition read by
 * stream sequence through a durable consumer that follows the reader's committed position.
 */
export class NatsTransport implements Transport {
  private readonly readers = new Set<NatsPartitionReader>()
  private readonly publishers = new Set<NatsPublisher>()

  constructor(
    private readonly connection: BrokerConnection,
    private readonly connectPublisher: () => Promise<BrokerConnection>,
    readonly name: string,
    readonly partitions: number,
    private readonly maxInFlight: number,
    private readonly duplicateWindowMs: number,
  ) {}

  /** Creates the source's stream, or brings an existing one to this configuration. */
  async declare(source: string): Promise<void> {
    const config: Partial<StreamConfig> & { name: string } = {
      name: streamName(source),
      description: `Tidings events of ${source}`,
      subjects: [sourceSubjects(source)],
      storage: StorageType.File,
      duplicate_window: nanos(this.duplicateWindowMs),
      max_age: nanos(MAX_AGE_MS),
      // Direct gets find the first unread message of a partition for `lag`.
      allow_direct: true,
    }
    const { jsm } = this.connection
    await this.connection.run(`declare ${config.name}`, async () => {
      try {
        await jsm.streams.add(config)
      } catch (error) {
        // 10058: the stream exists with another configuration.
        if ((error as { code?: unknown }).code !== 10058) throw error
        await jsm.streams.update(config.name, config)
      }
    })
  }

  publisher(): Publisher {
    const publisher = new NatsPublisher(this.connectPublisher, this.partitions, this.maxInFlight)
    this.publishers.add(publisher)
    return publisher
  }

  partition(source: string, partition: number, consumer: string): NatsPartitionReader {
    checkPartitionReader(partition, this.partitions, consumer)
    partitionSubject(source, partition) // checks the source name
    const reader: NatsPartitionReader = new NatsPartitionReader(this.connection, source, partition, consumer, () => this.readers.delete(reader))
    this.readers.add(reader)
    return reader
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers].map((reader) => reader.close()))
    await Promise.all([...this.publishers].map((publisher) => publisher.close()))
    await this.connection.close()
  }
}
