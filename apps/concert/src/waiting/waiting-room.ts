import { randomBytes } from 'node:crypto'
import { TidingsError } from '@tidings/core'

/**
 * A member's place in a concert's waiting room. `WAITING` in arrival order until admitted; `ACTIVE` (may
 * hold seats and pay) until `activeUntil`; then `COMPLETED` (paid), or `EXPIRED` (time up, idle, or left).
 */
export type QueueStatus = 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'COMPLETED'

export interface QueueToken {
  token: string
  concertId: string
  memberId: string
  status: QueueStatus
  /** Place in the concert's line: positions are counted by it. Null in the pre-queue (joined before sales opened). */
  seq: number | null
  activeUntil: string | null
}

/** What its holder is told: WAITING ones their 1-based position (null in the pre-queue, before sales open) and how long it may take. */
export interface QueueView {
  token: string
  concertId: string
  status: QueueStatus
  position: number | null
  estimatedWaitSeconds: number | null
  activeUntil: string | null
}

export interface WaitingRoomSettings {
  /** At most this many ACTIVE per concert (`CONCERT_ACTIVE_CAPACITY`, default 100). */
  activeCapacity: number
  /** How long an ACTIVE token lasts (`CONCERT_ACTIVE_TTL_MS`, default 10 min). */
  activeTtlMs: number
  /** A WAITING token whose holder neither polled nor stayed connected this long expires (`CONCERT_WAITING_IDLE_MS`, default 5 min). */
  waitingIdleMs: number
  /** How often expired tokens are swept and places given out besides (`CONCERT_ADMIT_INTERVAL_MS`, default 1 s). */
  admitIntervalMs: number
}

export const DEFAULT_WAITING_ROOM: WaitingRoomSettings = { activeCapacity: 100, activeTtlMs: 10 * 60_000, waitingIdleMs: 5 * 60_000, admitIntervalMs: 1_000 }

/** 192 random bits, URL-safe: never derived from the member. */
export const newQueueToken = (): string => randomBytes(24).toString('base64url')

/** A token as the route accepts it: what `newQueueToken` makes, nothing else reaches the database. */
export const QUEUE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/

export class QueueTokenNotFound extends TidingsError {
  constructor() {
    super('QUEUE_TOKEN_NOT_FOUND', 'not_found', 'No such queue token')
  }
}

/**
 * The estimated wait of the member at `position`, from the admissions of the last minutes (`admittedPerSecond`):
 * unknown (null) until anyone has been admitted.
 */
export function estimatedWaitSeconds(position: number, admittedPerSecond: number): number | null {
  if (admittedPerSecond <= 0) return null
  return Math.ceil(position / admittedPerSecond)
}

export function viewOf(token: QueueToken, position: number | null, admittedPerSecond: number): QueueView {
  if (token.status === 'WAITING') return waitingView(token.token, token.concertId, position, admittedPerSecond)
  return { token: token.token, concertId: token.concertId, status: token.status, position: null, estimatedWaitSeconds: null, activeUntil: token.status === 'ACTIVE' ? token.activeUntil : null }
}

/** A WAITING token's view: at `position` in line (null in the pre-queue). */
export function waitingView(token: string, concertId: string, position: number | null, admittedPerSecond: number): QueueView {
  return { token, concertId, status: 'WAITING', position, estimatedWaitSeconds: position === null ? null : estimatedWaitSeconds(position, admittedPerSecond), activeUntil: null }
}
