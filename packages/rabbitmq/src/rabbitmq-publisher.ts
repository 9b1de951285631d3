import { ConfirmWindow, partitionOf, type Envelope, type Publisher } from '@tidings/core'
import { ConfirmWatchdog } from './confirm-watchdog'
import type { Channel, Connection, ReturnedMessage } from 'rabbitmq-client'
import { closeChannel, closeConnection, openChannel, within } from './rabbitmq-connection'
import { BrokerUnavailable, brokerError } from './rabbitmq-errors'

/** A confirm-mode channel that publishes to one stream queue only, and the watchdog of its confirms. */
interface QueueChannel {
  channel: Channel
  watchdog: ConfirmWatchdog
}

/** A connection of the publisher's own, with its confirm-mode channels and the window its publishes share. */
interface Link {
  connection: Connection
  /** By queue: one channel for each stream queue published to on this connection (see the class comment). */
  channels: Map<string, QueueChannel>
  window: ConfirmWindow
  /** Messages the broker returned: no queue took them. */
  returned: ReturnedMessage[]
  /** Sources whose queues were seen up, and have their channels, on this connection. */
  checked: Set<string>
}

export interface PublisherSettings {
  /** Opens the publisher's own connection (failing at once while RabbitMQ does not answer). */
  connect: () => Promise<Connection>
  queueOf: (source: string, partition: number) => string
  partitions: number
  maxInFlight: number
  /** How long opening the connection and its channel may take. */
  timeoutMs: number
  /** How long a confirm may take (see the class comment for why this is long). */
  confirmTimeoutMs: number
  onClose?: () => void
}

/**
 * Publishes envelopes as JSON through the default exchange straight to the stream queue of their key's
 * partition (each queue on a channel of its own, see below), with publisher confirms, `mandatory` (a
 * message no queue takes comes back instead of vanishing: the source was not declared, or its queue was
 * deleted), persistent, and the envelope id as `messageId`. Up to `maxInFlight` messages await their
 * confirm at once, across overlapping batches (`ConfirmWindow`: a batch goes out after the one before it,
 * and a failure fails every batch queued behind it on the connection). It resolves once every message is
 * confirmed; a nack, a returned message, a lost connection or a confirm later than
 * `confirmTimeoutMs` rejects, and then none of the batch counts as published.
 *
 * RabbitMQ streams have no deduplication by message id over AMQP 0.9.1 (only the stream protocol's named
 * producers have it): a batch published again after a failure (or after a relay crash) is stored again,
 * and each consumer's inbox drops the repeats, as with Redis. What a failed batch left on the streams is
 * what reached the broker before the failure, in order (a queue's channel is handled in order, and the
 * client sends nothing again by itself), so a retry stores nothing of a key before its earlier events.
 * The restart test found three ways around that while a node recovers, all closed here:
 * - a queue that comes up in the middle of a batch returns the earlier messages and stores the later
 *   ones: so the first batch of a source on a new connection checks its queues first (`check`);
 * - confirms take seconds while RabbitMQ restarts a stream's writer: the channel then sends the new writer
 *   again what the old one had not stored. A publisher that gave up and closed the channel meanwhile left
 *   a gap behind which later messages were stored (a 2 s limit did): so confirms get a long limit of
 *   their own (`confirmTimeoutMs`, default 30 s), for a broker that truly hangs;
 * - a channel resends what a restarted writer had not confirmed under the channel's own publish sequence
 *   numbers, where the stream's deduplication expects the numbers of the channel's messages to that
 *   stream (RabbitMQ 3.10's `rabbit_stream_queue:resend_all`). On a channel that publishes to several
 *   streams the two differ: the writer then drops the channel's next messages to that stream as repeats,
 *   confirming them, stores the ones after, and never confirms some of the resent ones (the batch fails
 *   after `confirmTimeoutMs` and its retry stores the dropped ones behind later ones of their key; seen
 *   as one moved event in the restart test, reproduced by killing a stream's writer under a publisher).
 *   So every stream queue gets a channel of its own: there the two numbers are the same.
 * Left to the consumers: RabbitMQ nacking a message and storing later ones (it nacks what it could not
 * store while a stream recovers, as the restart test saw in CI): the relay chains each partition's
 * messages (`deduplicates` is false), so consumers skip a copy stored ahead of its predecessor and apply
 * the repeat in order (`core/partition-chain.ts`).
 *
 * It has a connection of its own — RabbitMQ's flow control throttles publishing connections, which must
 * not hold back the readers' deliveries — and drops it after any failure, so a retry starts on a clean
 * channel, without confirms of the failed batch still to come: the failed call rejects at once (its
 * caller must hear of it before sending more), and the next connection opens once the dropped one is
 * closed.
 */
export class RabbitMqPublisher implements Publisher {
  readonly partitions: number
  /** Streams over AMQP 0.9.1 store a repeat again (see above). */
  readonly deduplicates = false
  private link: Promise<Link> | undefined
  /** The last batch's start: rejects if it failed before taking its turn, and then so do the batches behind it. */
  private starting: Promise<void> = Promise.resolve()
  /** The failed link being dropped: the next one opens only after it, so no confirm of it is still to come. */
  private dropping: Promise<void> = Promise.resolve()
  private closed = false

  constructor(private readonly settings: PublisherSettings) {
    this.partitions = settings.partitions
  }

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return
    if (this.closed) throw new BrokerUnavailable('publish', 'the publisher is closed')
    const queues = Array.from({ length: this.partitions }, (_, p) => this.settings.queueOf(source, p))
    const operation = `publish to ${this.settings.queueOf(source, 0).replace(/\.0$/, '.*')}`
    // Batches take their turn on the window in the order publish was called: each one's link and queue
    // check are awaited after the batch before it has taken its turn, and a batch behind one that failed
    // before its turn (no connection, a queue not up) fails too, without sending.
    const batch: { linking?: Promise<Link>; sending?: Promise<void> } = {}
    const started = this.starting.then(async () => {
      await this.replaceDeadLink(operation)
      const link = await (batch.linking = this.link ??= this.dropping.then(() => this.open()))
      if (!link.checked.has(source)) {
        await this.check(link, operation, queues)
        await this.openQueueChannels(link, operation, queues)
      }
      link.checked.add(source)
      batch.sending = this.publishOn(link, operation, queues, events)
    })
    this.starting = started
    try {
      await started
      await batch.sending
    } catch (error) {
      // The last batch queued lets the next call start afresh.
      if (this.starting === started) this.starting = Promise.resolve()
      // Rejected at once, so the caller hears of it before its next batch; the link is dropped meanwhile.
      const { linking } = batch
      if (linking && this.link === linking) {
        this.link = undefined
        this.dropping = linking.then((link) => this.drop(link, error)).catch(() => {})
      }
      throw brokerError(operation, error)
    }
  }

  /**
   * Drops a channel that died since the last batch (the broker restarted), so that the batch goes out on a
   * new one; but only while nothing is in flight on it: batches queued there must fail with it, not go out
   * on a fresh channel.
   */
  private async replaceDeadLink(operation: string): Promise<void> {
    const linking = this.link
    const current = await linking?.catch(() => undefined)
    if (!current || [...current.channels.values()].every(({ channel }) => channel.active) || !current.window.idle) return
    if (this.link === linking) this.link = undefined
    await this.drop(current, new BrokerUnavailable(operation, 'the channel closed'))
  }

  private async open(): Promise<Link> {
    const connection = await this.settings.connect()
    return { connection, channels: new Map(), window: new ConfirmWindow(this.settings.maxInFlight), returned: [], checked: new Set() }
  }

  /**
   * A confirm-mode channel for each of the source's queues that has none yet on this connection, opened
   * before its first batch (a link that fails to open them is dropped like any failed one).
   */
  private async openQueueChannels(link: Link, operation: string, queues: string[]): Promise<void> {
    const { timeoutMs, confirmTimeoutMs } = this.settings
    for (const queue of queues) {
      if (link.channels.has(queue)) continue
      const channel = await within(openChannel(link.connection, operation), timeoutMs, operation)
      const watchdog = new ConfirmWatchdog(confirmTimeoutMs, () => new BrokerUnavailable(operation, `no confirm from ${queue} within ${confirmTimeoutMs} ms`))
      // Kept before confirm.select can fail, so that dropping the link closes it.
      link.channels.set(queue, { channel, watchdog })
      channel.on('basic.return', (message: ReturnedMessage) => void link.returned.push(message))
      await within(channel.confirmSelect(), timeoutMs, operation)
    }
  }

  /**
   * Makes sure every queue of the source is up before the first batch on a new connection (the first, or
   * the one after a failure, typically a broker that is still recovering). A queue that comes up in the
   * middle of a batch would store its later messages after returning its earlier ones, and the retry
   * would store those behind them; a passive declare on a channel of its own (a failed one closes its
   * channel) tells "no queue" or "home node down" before anything is sent.
   */
  private async check({ connection }: Link, operation: string, queues: string[]): Promise<void> {
    const { timeoutMs } = this.settings
    const channel = await within(openChannel(connection, operation), timeoutMs, operation)
    try {
      for (const queue of queues) await within(channel.queueDeclare({ queue, passive: true }), timeoutMs, operation)
    } finally {
      await closeChannel(channel, timeoutMs)
    }
  }

  /** Takes the batch's turn on the window at once (nothing is awaited before), then awaits its confirms. */
  private async publishOn({ channels, window, returned }: Link, operation: string, queues: string[], events: readonly Envelope[]): Promise<void> {
    await window.publish(events, (event) => {
      const queue = queues[partitionOf(event.key, this.partitions)]!
      const { channel, watchdog } = channels.get(queue)!
      // No content type: rabbitmq-client would parse a JSON body on the way in, and readers want the text.
      return watchdog.watch(channel.basicPublish({ routingKey: queue, mandatory: true, durable: true, messageId: event.id, type: event.type }, Buffer.from(JSON.stringify(event))))
    })
    // A return comes before its confirm, but reaches listeners a turn of the event loop later.
    await new Promise((resolve) => setImmediate(resolve))
    const lost = returned[0]
    if (lost) throw new BrokerUnavailable(operation, `${lost.replyText}: no queue ${lost.routingKey} (is the source declared?)`)
  }

  private async drop({ connection, channels, window }: Link, error: unknown): Promise<void> {
    window.fail(error)
    for (const { watchdog } of channels.values()) watchdog.stop()
    await Promise.all([...channels.values()].map(({ channel }) => closeChannel(channel, this.settings.timeoutMs)))
    await closeConnection(connection, this.settings.timeoutMs)
  }

  async close(): Promise<void> {
    this.settings.onClose?.()
    this.closed = true
    const linking = this.link
    this.link = undefined
    await linking?.then((link) => this.drop(link, new BrokerUnavailable('publish', 'the publisher is closed'))).catch(() => {})
    await this.dropping
  }
}
