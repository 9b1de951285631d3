import { Connection, type Channel } from 'rabbitmq-client'
import { BrokerUnavailable, brokerError } from './rabbitmq-errors'

export interface ConnectionSettings {
  url: string
  /** The name RabbitMQ shows for the connection. */
  name: string
  /** How long connecting, opening a channel or any one broker answer may take. */
  timeoutMs: number
  /** The first pause between reconnect attempts (it grows up to 500 ms; the connection retries forever). */
  reconnectWaitMs: number
}

/** Heartbeats every 5 s: a broker that hangs (not one that dies: its socket closes) is noticed within ~20 s. */
const HEARTBEAT_SECONDS = 10
/** RabbitMQ's default frame_max: a message up to this size goes in one body frame (the client's default is 8 KiB). */
const FRAME_MAX = 131_072

/**
 * Opens a connection that reconnects by itself forever, once RabbitMQ has answered: a first attempt that
 * fails (refused, timed out, bad credentials) rejects at once with `BrokerUnavailable` and stops it.
 * Errors are also seen by whoever waits for the failed operation, so the connection's `error` events
 * (a lost connection, a channel closed by the broker) are only kept from crashing the process.
 */
export async function openConnection(settings: ConnectionSettings): Promise<Connection> {
  const connection = new Connection({
    url: settings.url,
    connectionName: settings.name,
    connectionTimeout: settings.timeoutMs,
    acquireTimeout: settings.timeoutMs,
    heartbeat: HEARTBEAT_SECONDS,
    frameMax: FRAME_MAX,
    noDelay: true,
    retryLow: settings.reconnectWaitMs,
    retryHigh: Math.max(settings.reconnectWaitMs, 500),
  })
  connection.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => {
      connection.once('connection', () => resolve())
      connection.once('error', (error: unknown) => reject(error))
    })
  } catch (error) {
    connection.unsafeDestroy()
    throw brokerError('connect', error)
  }
  return connection
}

/**
 * A new channel, at once: while the connection is down (or blocked by a resource alarm) this fails with
 * `BrokerUnavailable` instead of waiting for a reconnect, so callers retry on their own schedule.
 */
export async function openChannel(connection: Connection, operation: string): Promise<Channel> {
  if (!connection.ready) throw new BrokerUnavailable(operation, 'not connected to RabbitMQ (or blocked by a resource alarm)')
  try {
    const channel = await connection.acquire({ emitErrorsFromChannel: true })
    channel.on('error', () => {})
    return channel
  } catch (error) {
    throw brokerError(operation, error)
  }
}

/** Closes a channel without waiting on a broker that does not answer. */
export async function closeChannel(channel: Channel | undefined, timeoutMs: number): Promise<void> {
  if (!channel?.active) return
  await bounded(channel.close().catch(() => {}), timeoutMs)
}

/** Closes politely when RabbitMQ answers within `timeoutMs`, and in any case stops reconnecting. */
export async function closeConnection(connection: Connection, timeoutMs: number): Promise<void> {
  await bounded(connection.close().catch(() => {}), timeoutMs)
  connection.unsafeDestroy()
}

/** Waits for `promise` at most `ms`. */
export async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

/** The promise, or `BrokerUnavailable` when it takes longer than `ms` (a broker that stopped answering). */
export async function within<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    // Checked again after pending I/O: a busy event loop may fire the timer before reading the answer.
    timer = setTimeout(() => setImmediate(() => reject(new BrokerUnavailable(operation, `no answer within ${ms} ms`))), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
