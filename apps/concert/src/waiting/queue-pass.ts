import { TidingsError, type Clock } from '@tidings/core'
import { QUEUE_TOKEN_PATTERN, type QueueStatus } from './waiting-room'

/** The header an active member presents to see seats, hold them and pay: their waiting room token. */
export const QUEUE_TOKEN_HEADER = 'Queue-Token'

/** What the concert and payment services need to know of a queue token. */
export interface QueuePass {
  concertId: string
  memberId: string
  status: QueueStatus
  activeUntil: string | null
}

/** The waiting room's answer for a token (in one process, its store; across processes, its internal route). */
export type QueuePassLookup = (token: string) => Promise<QueuePass | undefined>

export class QueueTokenRequired extends TidingsError {
  constructor() {
    super('QUEUE_TOKEN_REQUIRED', 'unauthorized', `Join the concert's waiting room first, and send its token as ${QUEUE_TOKEN_HEADER} once it is ACTIVE`)
  }
}

export class QueueTokenNotActive extends TidingsError {
  constructor() {
    super('QUEUE_TOKEN_NOT_ACTIVE', 'forbidden', `This ${QUEUE_TOKEN_HEADER} is not an ACTIVE token of yours for this concert`)
  }
}

/** Where a request's pass was read (before any transaction: the waiting room may be another process). */
export interface PresentedPass {
  token: string | undefined
  pass: QueuePass | undefined
}

/** Reads the request's `Queue-Token` and what the waiting room says of it. */
export async function presentedPass(header: string | undefined, lookup: QueuePassLookup): Promise<PresentedPass> {
  const token = header?.trim() || undefined
  // Only what a waiting room makes reaches the lookup: 32 URL-safe characters.
  return { token, pass: token && QUEUE_TOKEN_PATTERN.test(token) ? await lookup(token) : undefined }
}

/**
 * Admits the caller to act on `concertId`: the token presented is ACTIVE, not past its time, the caller's,
 * and for that concert. Throws `QUEUE_TOKEN_REQUIRED` (401) without one, `QUEUE_TOKEN_NOT_ACTIVE` (403) otherwise.
 */
export function requireActivePass(presented: PresentedPass, memberId: string, concertId: string, clock: Clock): void {
  if (presented.token === undefined) throw new QueueTokenRequired()
  const { pass } = presented
  const active = pass?.status === 'ACTIVE' && pass.activeUntil !== null && Date.parse(pass.activeUntil) > clock.now().getTime()
  if (!active || pass.memberId !== memberId || pass.concertId !== concertId) throw new QueueTokenNotActive()
}
