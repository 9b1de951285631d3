import { jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { brokerError, BrokerUnavailable } from './nats-errors'

export interface BrokerConnectionOptions {
  servers: string | string[]
  name: string
  /** How long one broker request (a PubAck, an API call, an ack) may take. */
  timeoutMs: number
  reconnectWaitMs: number
  /** Keep trying until a server answers (default); false fails at once when none does. */
  waitOnFirstConnect?: boolean
}

/**
 * One NATS connection that reconnects forever, and knows when it is down: while it is, every operation
 * fails at once with `BrokerUnavailable` instead of queueing in the client's reconnect buffer until a
 * timeout, and operations in flight when the connection drops fail at that moment.
 */
export class BrokerConnection {
  private up = true
  private closing = false
  private readonly downListeners = new Set<() => void>()

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly js: JetStreamClient,
    readonly timeoutMs: number,
  ) {
    void this.watch()
  }

  static async open(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    let nc: NatsConnection
    try {
      nc = await connect({
        servers: options.servers,
        name: options.name,
        maxReconnectAttempts: -1,
        waitOnFirstConnect: options.waitOnFirstConnect ?? true,
        reconnectTimeWait: options.reconnectWaitMs,
        reconnectJitter: Math.min(100, options.reconnectWaitMs),
        timeout: options.timeoutMs,
      })
    } catch (error) {
      throw brokerError('connect', error)
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs })
      return new BrokerConnection(nc, jsm, jsm.jetstream(), options.timeoutMs)
    } catch (error) {
      await nc.close().catch(() => {})
      throw brokerError('connect (JetStream)', error)
    }
  }

  private async watch(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') {
          this.up = false
          for (const listener of [...this.downListeners]) listener()
        } else if (status.type === 'reconnect') {
          this.up = true
        }
      }
    } catch {
      // The status stream ended with the connection; there is nothing left to watch.
    } finally {
      this.up = false
    }
  }

  /**
   * Runs a broker operation. `down` fires when the connection drops (the operation then rejects with
   * `BrokerUnavailable` at once, whatever `op` is still waiting for); every error becomes a TidingsError.
   */
  async run<T>(operation: string, op: (down: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closing || this.nc.isClosed()) throw new BrokerUnavailable(operation, 'the connection is closed')
    if (!this.up) throw new BrokerUnavailable(operation, 'disconnected from the NATS server')
    const down = new AbortController()
    let onDown = (): void => {}
    const dropped = new Promise<never>((_, reject) => {
      onDown = () => {
        down.abort()
        reject(new BrokerUnavailable(operation, 'lost the connection to the NATS server'))
      }
    })
    this.downListeners.add(onDown)
    try {
      return await Promise.race([op(down.signal), dropped])
    } catch (error) {
      throw brokerError(operation, error)
    } finally {
      this.downListeners.delete(onDown)
    }
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    if (this.nc.isClosed()) return
    // Drain lets what is in flight finish; a server that is gone cannot be drained, so it is bounded.
    let timer: NodeJS.Timeout | undefined
    const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))
    await Promise.race([this.nc.drain().catch(() => {}), bounded])
    clearTimeout(timer)
    if (!this.nc.isClosed()) await this.nc.close().catch(() => {})
  }
}
