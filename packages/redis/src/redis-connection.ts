import { Redis, type RedisOptions } from 'ioredis'
import { LAG, READ_PAGE } from './transport/redis-scripts'

/** The longest pause between two reconnect attempts: a connection tries again forever, at least this often. */
const MAX_RECONNECT_DELAY_MS = 500
/**
 * Commands issued while the connection is down wait in ioredis' offline queue; after this many failed
 * reconnect attempts (under a second against a refusing server, a few seconds against an unreachable one)
 * they fail, so an outage surfaces as `unavailable` instead of hanging.
 */
const MAX_RETRIES_PER_REQUEST = 3
const CONNECT_TIMEOUT_MS = 2_000
/** A command sent that gets no answer in this time (a server that hangs) fails. */
const COMMAND_TIMEOUT_MS = 5_000

/** The command connection with the transport's scripts. */
export interface RedisLink extends Redis {
  tidingsReadPage(key: string, group: string, consumer: string, after: string, limit: number): Promise<unknown>
  tidingsLag(key: string, after: string, chunk: number): Promise<unknown>
}

function common(name: string): RedisOptions {
  return {
    connectionName: name,
    retryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    connectTimeout: CONNECT_TIMEOUT_MS,
  }
}

/** Errors also reach the caller of each command; the event would only print them a second time. */
const quiet = <T extends Redis>(redis: T): T => {
  redis.on('error', () => {})
  return redis
}

/** The connection every command but a blocking read goes through: publishes, pages, lag, unblocking. */
export function commandConnection(url: string, name: string): RedisLink {
  return quiet(
    new Redis(url, {
      ...common(name),
      commandTimeout: COMMAND_TIMEOUT_MS,
      scripts: {
        tidingsReadPage: { lua: READ_PAGE, numberOfKeys: 1 },
        tidingsLag: { lua: LAG, numberOfKeys: 1, readOnly: true },
      },
    }) as RedisLink,
  )
}

/**
 * A reader's own connection for XREAD BLOCK, so that a long poll stalls nobody else. No command timeout
 * (a block is meant to last); ioredis' blocking timeout ends a block whose answer never comes. A block cut
 * by a lost connection is not sent again after the reconnect: the reader has already failed it.
 */
export function blockingConnection(url: string, name: string): Redis {
  return quiet(
    new Redis(url, {
      ...common(name),
      lazyConnect: true,
      autoResendUnfulfilledCommands: false,
      blockingTimeout: COMMAND_TIMEOUT_MS,
      blockingTimeoutGrace: COMMAND_TIMEOUT_MS,
    }),
  )
}

/** Quits politely when the server answers, and in any case stops reconnecting. */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  let timer: NodeJS.Timeout | undefined
  const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))
  if (redis.status === 'ready') await Promise.race([redis.quit().catch(() => {}), bounded])
  clearTimeout(timer)
  redis.disconnect()
}
