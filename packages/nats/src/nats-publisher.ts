import { ConfirmWindow, partitionOf, type Envelope, type Publisher } from '@tidings/core'
import type { BrokerConnection } from './nats-connection'
import { BrokerUnavailable } from './nats-errors'
import { partitionSubject, streamName } from './names'

/** The publisher's own connection, with the window its publishes share. */
interface Link {
  connection: BrokerConnection
  window: ConfirmWindow
}

/**
 * Publishes envelopes as JSON, each to its key's partition subject with the envelope id as `Nats-Msg-Id`
 * (JetStream drops a repeat within the stream's duplicate window, so publishing a batch again after a
 * failure stores nothing twice). Up to `maxInFlight` publishes await their PubAck at once, across
 * overlapping batches (`ConfirmWindow`).
 *
 * It has a connection of its own and drops it after any failure, with every batch still queued on it: the
 * failed call rejects at once (its caller must hear of it before sending more), and the next connection
 * opens only once the dropped one is closed. What the server stored of a failed batch is then a prefix of
 * what was written to the dead socket (one connection is processed in order); had the client kept its
 * reconnect buffer, it would send the rest of the batch after a lost message, and the relay's retry would
 * then store that message behind later ones of its key.
 */
export class NatsPublisher implements Publisher {
  /** JetStream drops a repeated `Nats-Msg-Id` within the stream's duplicate window. */
  readonly deduplicates = true
  private link?: Promise<Link>
  /** The failed link closing: the next one opens only after it, so nothing of it reaches the server after a retry. */
  private closing: Promise<void> = Promise.resolve()

  constructor(
    private readonly connect: () => Promise<BrokerConnection>,
    readonly partitions: number,
    private readonly maxInFlight: number,
  ) {}

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return
    const linking = (this.link ??= this.closing.then(() => this.connect()).then((connection) => ({ connection, window: new ConfirmWindow(this.maxInFlight) })))
    try {
      await this.publishOn(await linking, source, events)
    } catch (error) {
      // Rejected at once, so the caller hears of it before its next batch; the link closes meanwhile.
      if (this.link === linking) {
        this.link = undefined
        this.closing = linking
          .then(({ connection, window }) => {
            window.fail(error)
            return connection.close()
          })
          .catch(() => {})
      }
      throw error
    }
  }

  private async publishOn({ connection, window }: Link, source: string, events: readonly Envelope[]): Promise<void> {
    const stream = streamName(source)
    const subjects = Array.from({ length: this.partitions }, (_, p) => partitionSubject(source, p))
    const { js, timeoutMs } = connection
    const send = async (event: Envelope): Promise<void> => {
      const subject = subjects[partitionOf(event.key, this.partitions)]!
      const ack = await js.publish(subject, JSON.stringify(event), { msgID: event.id, timeout: timeoutMs })
      // A subject caught by some other stream would be stored where no reader of this source looks.
      if (ack.stream !== stream) throw new BrokerUnavailable(`publish to ${stream}`, `the subject is stored in the stream ${ack.stream}`)
    }
    await connection.run(`publish to ${stream}`, (down) => {
      down.addEventListener('abort', () => window.fail(new BrokerUnavailable(`publish to ${stream}`, 'lost the connection to the NATS server')), { once: true })
      return window.publish(events, send)
    })
  }

  async close(): Promise<void> {
    const linking = this.link
    this.link = undefined
    await linking?.then(({ connection }) => connection.close()).catch(() => {})
    await this.closing
  }
}
