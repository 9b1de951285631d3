import { comparePositions, formatToken, parseSession, sessionTokens, TidingsError, type ConsistencyToken, type Position, type TokenSession } from '@tidings/core'
import type { Follower } from '@tidings/postgres'
import type { Context, MiddlewareHandler } from 'hono'
import { problemOf, problemResponse } from './problem'

export const POSITION_HEADER = 'Tidings-Position'
export const STALE_HEADER = 'Tidings-Stale'

/**
 * Resolves true once the read model has processed the token's position, false when `timeoutMs` passes
 * first. `follows` (when known) says which feeds the read model follows at all.
 */
export type ConsistencyWaiter = ((token: ConsistencyToken, timeoutMs: number, signal?: AbortSignal) => Promise<boolean>) & {
  follows?: (source: string) => boolean
  /** How long a query waits on this read model by default (see `consistentRead`). */
  timeoutMs?: number
}

/** How long a query waits for its tokens unless told otherwise: long enough for a healthy read side. */
export const DEFAULT_CONSISTENCY_TIMEOUT_MS = 2_000

/** What a wait needs from a consumer; every `Follower` has it. */
export type ProgressSource = Pick<Follower, 'name' | 'sources' | 'isActive' | 'processedPosition' | 'onProgress'>

/** A standby learns of progress only from its checkpoint, read this often while someone waits. */
const STANDBY_POLL_MS = 20
/** An active instance signals progress; this re-check only covers losing the lease mid-wait. */
const ACTIVE_RECHECK_MS = 250

/** Puts the command's consistency token on the response, for the client to send back with its next query. */
export function withPosition(c: Context, token: ConsistencyToken | undefined): void {
  if (token) c.header(POSITION_HEADER, formatToken(token))
}

/**
 * Waits on the subscriptions that feed one read model. The model has caught up with a token when every
 * consumer (by name) that follows the token's feed has processed its position; for one consumer any of
 * its instances will do (the active one knows it first, a standby reads the shared checkpoint). A token
 * of a feed none of them follows can never be waited for: false at once.
 */
export function consistencyWaiter(subscriptions: readonly ProgressSource[], options: { timeoutMs?: number } = {}): ConsistencyWaiter {
  const checkpoints = new CheckpointCache(STANDBY_POLL_MS)
  const waiter: ConsistencyWaiter = async (token, timeoutMs, signal) => {
    const following = subscriptions.filter((s) => s.sources.includes(token.source))
    if (following.length === 0) return false
    const consumers = groupByName(following)
    const caughtUp = async (): Promise<boolean> => {
      const done = await Promise.all(
        consumers.map(async (instances) => {
          for (const s of instances) {
            const processed = await checkpoints.processed(s, token.source).catch(() => undefined)
            if (processed !== undefined && comparePositions(processed, token.position) >= 0) return true
          }
          return false
        }),
      )
      return done.every(Boolean)
    }
    return waitUntil(caughtUp, consumers, timeoutMs, signal)
  }
  waiter.follows = (source) => subscriptions.some((s) => s.sources.includes(source))
  if (options.timeoutMs !== undefined) waiter.timeoutMs = options.timeoutMs
  return waiter
}

function groupByName(subscriptions: readonly ProgressSource[]): ProgressSource[][] {
  const groups = new Map<string, ProgressSource[]>()
  for (const s of subscriptions) groups.set(s.name, [...(groups.get(s.name) ?? []), s])
  return [...groups.values()]
}

async function waitUntil(
  caughtUp: () => Promise<boolean>,
  consumers: readonly ProgressSource[][],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  let progressed = false
  let wake: (() => void) | undefined
  // Listen before the first check, so that progress between check and wait is not missed.
  const offs = consumers.flat().map((s) =>
    s.onProgress(() => {
      progressed = true
      wake?.()
    }),
  )
  try {
    for (;;) {
      progressed = false
      if (await caughtUp()) return true
      const remaining = deadline - Date.now()
      if (remaining <= 0 || signal?.aborted) return false
      if (progressed) continue
      // Poll only for a consumer with no active instance here; the active ones signal their progress.
      const signalled = consumers.every((instances) => instances.some((s) => s.isActive()))
      const interval = signalled ? ACTIVE_RECHECK_MS : STANDBY_POLL_MS
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          wake = undefined
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, Math.min(interval, remaining))
        wake = done
        signal?.addEventListener('abort', done, { once: true })
      })
    }
  } finally {
    for (const off of offs) off()
  }
}

/**
 * Many waiting requests share one checkpoint read per standby and feed per poll interval, instead of
 * each polling the database on its own. An active instance answers from memory and is not cached.
 */
class CheckpointCache {
  private readonly entries = new Map<ProgressSource, Map<string, { at: number; position: Promise<Position> }>>()

  constructor(private readonly ttlMs: number) {}

  processed(s: ProgressSource, source: string): Promise<Position> {
    if (s.isActive()) return s.processedPosition(source)
    let bySource = this.entries.get(s)
    if (!bySource) this.entries.set(s, (bySource = new Map()))
    const cached = bySource.get(source)
    const now = Date.now()
    if (cached && now - cached.at < this.ttlMs) return cached.position
    const position = s.processedPosition(source)
    bySource.set(source, { at: now, position })
    position.catch(() => bySource.delete(source))
    return position
  }
}

export interface ConsistentReadOptions {
  waiter: ConsistencyWaiter
  /** The longest a request waits for its tokens; default the waiter's, else 2 s. */
  timeoutMs?: number
}

/** What a refused command's client is told to wait before it sends the command again. */
export const NOT_CAUGHT_UP_RETRY_AFTER_SECONDS = 1

/**
 * A command's tokens were not reached in time: the state it would decide on may be older than what the
 * client has already seen (its own earlier change), so it is not run. Nothing happened; send it again.
 */
export class NotCaughtUp extends TidingsError {
  constructor() {
    super('NOT_CAUGHT_UP', 'unavailable', 'This service has not yet caught up with your earlier changes; nothing was done, try again shortly')
  }
}

/**
 * The consistency session a request carries: header `Tidings-Position`, or `?position=` where a client
 * cannot set headers (one token, or the last token of each feed it wrote to, comma-separated). Undefined
 * when it carries none; a malformed one is `InvalidPosition` (400).
 */
export function requestSession(c: Context): TokenSession | undefined {
  const raw = c.req.header(POSITION_HEADER) ?? c.req.query('position')
  return raw === undefined || raw === '' ? undefined : parseSession(raw)
}

/**
 * For queries: when the request carries consistency tokens (header `Tidings-Position` or `?position=`, one
 * or several separated by commas), wait until the read model has processed every one, then answer. On
 * timeout the query still answers, with the current state and `Tidings-Stale: true`. Without a token
 * reads are eventually consistent and immediate. On a route of any other method than GET and HEAD it is
 * `consistentCommand`: a command never decides on a stale view.
 */
export function consistentRead(options: ConsistentReadOptions): MiddlewareHandler {
  return waitForSession(options, (c) => c.req.method !== 'GET' && c.req.method !== 'HEAD')
}

/**
 * For commands that decide on a read model (e.g. whether an order can still be cancelled): the same wait
 * as `consistentRead`, but a wait that times out answers 503 `NOT_CAUGHT_UP` with `Retry-After` and the
 * handler does not run. Tokens of feeds the model does not follow are ignored: they cannot change what it
 * decides, and waiting for them would refuse the command for ever.
 */
export function consistentCommand(options: ConsistentReadOptions): MiddlewareHandler {
  return waitForSession(options, () => true)
}

function waitForSession(options: ConsistentReadOptions, isCommand: (c: Context) => boolean): MiddlewareHandler {
  const timeoutMs = options.timeoutMs ?? options.waiter.timeoutMs ?? DEFAULT_CONSISTENCY_TIMEOUT_MS
  return async (c, next) => {
    const session = requestSession(c)
    if (session === undefined) return next()
    const all = sessionTokens(session)
    const command = isCommand(c)
    const followed = all.filter((t) => options.waiter.follows?.(t.source) ?? true)
    // A session's tokens of feeds this read model does not follow say nothing about it; for a query a lone
    // one is stale (the answer cannot show that write).
    const tokens = command || (all.length > 1 && followed.length > 0) ? followed : all
    const deadline = Date.now() + timeoutMs
    let fresh = true
    for (const token of tokens) {
      fresh = (await options.waiter(token, Math.max(0, deadline - Date.now()), c.req.raw.signal)) && fresh
    }
    if (!fresh && command) return problemResponse(problemOf(new NotCaughtUp()), { 'Retry-After': String(NOT_CAUGHT_UP_RETRY_AFTER_SECONDS) })
    await next()
    if (!fresh) c.header(STALE_HEADER, 'true')
  }
}
