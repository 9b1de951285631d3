import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { serverPid } from './cpu'

/**
 * The concert waiting room's parts that `@tidings/concert` does not export (its index gives the composed
 * system only): the store on Redis and on PostgreSQL, the room itself and the channel. The waiting bench
 * reaches them by path and only calls them; nothing here changes them.
 */
export { RedisWaitingRoomStore } from '../../../apps/concert/src/waiting/redis-waiting-room.store'
export { waitingRoomMigrations } from '../../../apps/concert/src/waiting/pg-waiting-room.store'
export { WaitingRoom } from '../../../apps/concert/src/waiting/waiting-room.service'
export { DEFAULT_WAITING_ROOM, newQueueToken, type QueueView, type WaitingRoomSettings } from '../../../apps/concert/src/waiting/waiting-room'
export { channelService } from '../../../apps/concert/src/waiting/channel.service'

/** The shared Redis (other sessions use it too): every key the bench writes is under a prefix of its own. */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other run uses: `tidings-bench-waiting-<pid>-<random>`. */
export function uniquePrefix(): string {
  return `tidings-bench-waiting-${process.pid}-${randomBytes(4).toString('hex')}`
}

/**
 * The store's keys for one concert under `prefix` (see redis-waiting-room.scripts.ts): the line by arrival,
 * the ACTIVE tokens by the end of their time, admissions by time, a token's hash.
 */
export function roomKeys(prefix: string, concertId: string) {
  const c = `${prefix}:c:${concertId}`
  return { waiting: `${c}:waiting`, active: `${c}:active`, activated: `${c}:activated`, seen: `${c}:seen`, token: (token: string) => `${prefix}:t:${token}` }
}

/** Every key matching `pattern` (SCAN, so the shared server is never blocked by KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000)
    cursor = next
    keys.push(...found)
  } while (cursor !== '0')
  return keys
}

/** Deletes every key under the prefix; the number deleted. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<number> {
  const keys = await scanKeys(redis, `${prefix}:*`)
  for (let i = 0; i < keys.length; i += 5_000) await redis.unlink(...keys.slice(i, i + 5_000))
  return keys.length
}

/** `MEMORY USAGE` (all samples) summed over the keys, pipelined: bytes. */
export async function memoryUsage(redis: Redis, keys: readonly string[]): Promise<number> {
  let bytes = 0
  for (let i = 0; i < keys.length; i += 5_000) {
    const pipeline = redis.pipeline()
    for (const key of keys.slice(i, i + 5_000)) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      if (error) throw error
      bytes += Number(value ?? 0)
    }
  }
  return bytes
}

/** A plain connection to the shared Redis for the bench's own reads and its raw ceiling (errors reach the caller). */
export function rawRedis(url = REDIS_URL): Redis {
  const redis = new Redis(url, { connectionName: 'tidings-bench-raw' })
  redis.on('error', () => {})
  return redis
}

/** The redis-server process behind the URL when it runs on this machine (for its CPU time). */
export function redisPid(url = REDIS_URL): number | undefined {
  const port = new URL(url).port || '6379'
  return serverPid('redis-server', (args) => args.join(' ').includes(`:${port}`))
}
