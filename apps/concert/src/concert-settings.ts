import type { QueueChannelSettings } from './waiting/queue-channel'
import type { WaitingRoomSettings } from './waiting/waiting-room'

/** The concert system's settings a deployment may change, from the environment. */
export interface ConcertSettings {
  /** `CONCERT_HOLD_TTL_MS` (default 5 min): how long a held seat waits for its payment. */
  holdTtlMs?: number | undefined
  /** The waiting room's (`CONCERT_ACTIVE_CAPACITY`, `CONCERT_ACTIVE_TTL_MS`, `CONCERT_WAITING_IDLE_MS`, `CONCERT_ADMIT_INTERVAL_MS`). */
  waitingRoom?: Partial<WaitingRoomSettings> | undefined
  /** Keep the waiting room's tokens in Redis at this URL (`REDIS_URL`, or `WAITING_ROOM=redis` for the default one). */
  waitingRoomRedisUrl?: string | undefined
  /** The client channel's (`CONCERT_CHANNEL_MAX_CONNECTIONS`: connections one channel process takes). */
  channel?: Partial<QueueChannelSettings> | undefined
}

const SETTINGS = { holdTtlMs: 'CONCERT_HOLD_TTL_MS' } as const
const WAITING_ROOM = {
  activeCapacity: 'CONCERT_ACTIVE_CAPACITY',
  activeTtlMs: 'CONCERT_ACTIVE_TTL_MS',
  waitingIdleMs: 'CONCERT_WAITING_IDLE_MS',
  admitIntervalMs: 'CONCERT_ADMIT_INTERVAL_MS',
} as const satisfies Record<keyof WaitingRoomSettings, string>

/** Reads the settings that are set; a value that is not a positive whole number (of milliseconds, or people) stops the start. */
export function concertSettingsFromEnv(env: Record<string, string | undefined>): ConcertSettings {
  const holdTtlMs = positive(env, SETTINGS.holdTtlMs)
  const waitingRoom: Partial<WaitingRoomSettings> = {}
  for (const [key, name] of Object.entries(WAITING_ROOM) as Array<[keyof WaitingRoomSettings, string]>) {
    const value = positive(env, name)
    if (value !== undefined) waitingRoom[key] = value
  }
  const maxConnections = positive(env, 'CONCERT_CHANNEL_MAX_CONNECTIONS')
  const redisUrl = env.WAITING_ROOM === 'redis' || env.REDIS_URL ? env.REDIS_URL || 'redis://127.0.0.1:6379' : undefined
  if (env.WAITING_ROOM && env.WAITING_ROOM !== 'redis' && env.WAITING_ROOM !== 'database') throw new Error(`WAITING_ROOM must be redis or database, not "${env.WAITING_ROOM}"`)
  return { ...(holdTtlMs !== undefined ? { holdTtlMs } : {}), waitingRoom, ...(maxConnections !== undefined ? { channel: { maxConnections } } : {}), ...(redisUrl && env.WAITING_ROOM !== 'database' ? { waitingRoomRedisUrl: redisUrl } : {}) }
}

function positive(env: Record<string, string | undefined>, name: string): number | undefined {
  const value = env[name]
  if (!value) return undefined
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, not "${value}"`)
  return n
}
