import { createHash } from 'node:crypto'
import { silentLogger, TidingsError, type Logger } from '@tidings/core'
import { KeyAlreadyUsed, KeyedCommand, runKeyed, type IdempotencyKeys, type KeyedRequest, type StoredResponse, type UsedKey } from '@tidings/postgres'
import type { Context, MiddlewareHandler } from 'hono'
import { POSITION_HEADER } from './consistency'
import { problemOf, problemResponse } from './problem'

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key'
/** On an answer given again from a key's stored response or outcome (as Stripe names it). */
export const REPLAYED_HEADER = 'Idempotent-Replayed'
/** What a replay gives back besides status and body; never cookies. */
const KEPT_HEADERS = ['content-type', 'location', POSITION_HEADER.toLowerCase()]
/** Visible ASCII and spaces, 1 to 255 of them: UUIDs, ULIDs and the like. */
const VALID_KEY = /^[\x20-\x7e]{1,255}$/

export class IdempotencyKeyRequired extends TidingsError {
  constructor() {
    super('IDEMPOTENCY_KEY_REQUIRED', 'validation', `This command needs an ${IDEMPOTENCY_KEY_HEADER} header: a unique value per intended operation, sent again with every retry of it`)
  }
}

export class InvalidIdempotencyKey extends TidingsError {
  constructor() {
    super('IDEMPOTENCY_KEY_INVALID', 'validation', `The ${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 visible ASCII characters`)
  }
}

export class IdempotencyKeyReused extends TidingsError {
  constructor() {
    super('IDEMPOTENCY_KEY_REUSED', 'unprocessable', `This ${IDEMPOTENCY_KEY_HEADER} was used for a different request (method, path or body); use a new key for a new operation`)
  }
}

export interface IdempotencyOptions {
  /** Refuse a request without a key (`400 IDEMPOTENCY_KEY_REQUIRED`); by default the key is optional. */
  required?: boolean
  /** Whose keys these are: a key is unique per caller. By default the signed-in member (after `requireMember`). */
  caller?: (c: Context) => string | undefined
  logger?: Logger
}

/**
 * Makes a command route safe to retry: a request with an `Idempotency-Key` runs its command once. The key,
 * the caller and a digest of method, path and body are recorded with the command's outcome in the
 * command's own transaction (see `UnitOfWork.run`), the response once sent. A retry with the same key and
 * request gets the stored response again (or, when the process died before answering, the response the
 * route makes of the stored outcome) with `Idempotent-Replayed: true`; with another request, `422
 * IDEMPOTENCY_KEY_REUSED`; while the first still runs its command, `409 IDEMPOTENCY_KEY_IN_USE`. A request
 * that ended without committing (refused, failed) leaves nothing: its retry runs anew. The route runs one
 * command and its result must be plain data (it is stored as such).
 */
export function idempotent(uow: { idempotencyKeys: IdempotencyKeys }, options: IdempotencyOptions = {}): MiddlewareHandler {
  const keys = uow.idempotencyKeys
  const callerOf = options.caller ?? ((c: Context) => c.get('memberId') as string | undefined)
  const logger = options.logger ?? silentLogger

  /** Answers from what the key's first request left: its response, or what the route makes of its outcome. */
  const replay = async (c: Context, next: () => Promise<void>, request: KeyedRequest, used: UsedKey): Promise<void> => {
    if (used.fingerprint !== request.fingerprint) throw new IdempotencyKeyReused()
    if (used.response) {
      c.res = replayOf(used.response)
      return
    }
    await runKeyed(new KeyedCommand(keys, request, used.outcome), next)
    c.res.headers.set(REPLAYED_HEADER, 'true')
    await keep(c, request)
  }

  /**
   * Keeps the answer for later replays, written after it has gone (see `IdempotencyKeys.answered`); one the
   * route failed to give (5xx) is not kept, the outcome is.
   */
  const keep = async (c: Context, request: KeyedRequest): Promise<void> => {
    if (c.res.status >= 500) return
    keys.answered(request, await storable(c.res)).catch((error: unknown) => logger.warn({ err: error, key: request.key }, 'could not keep the answer of a keyed command; a retry will rebuild it'))
  }

  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_KEY_HEADER)
    if (key === undefined) {
      if (options.required) throw new IdempotencyKeyRequired()
      return next()
    }
    if (!VALID_KEY.test(key) || key.trim() === '') throw new InvalidIdempotencyKey()
    const caller = callerOf(c)
    if (caller === undefined) throw new Error('idempotent() needs to know the caller: put it after requireMember, or give it `caller`')
    const request: KeyedRequest = { caller, key, fingerprint: await fingerprintOf(c) }

    const used = await keys.find(caller, key)
    if (used) return replay(c, next, request, used)
    const command = new KeyedCommand(keys, request)
    await runKeyed(command, next)
    if (c.error instanceof TidingsError) {
      // Another request with this key committed between our look and our claim, or its command's effects
      // refused ours (a conflict its own retry caused): its answer if it has been given, else 409 IN_USE
      // (it is still being answered). A refusal with no such request is the answer.
      const committed = await keys.find(caller, key)
      if (!committed) return
      if (committed.fingerprint !== request.fingerprint) throw new IdempotencyKeyReused()
      c.res = committed.response ? replayOf(committed.response) : problemResponse(problemOf(new KeyAlreadyUsed()))
      return
    }
    if (command.recorded) await keep(c, request)
  }
}

/** Method, path with query, and the body's bytes: what must be the same for a retry to be the same request. */
async function fingerprintOf(c: Context): Promise<string> {
  const url = new URL(c.req.url)
  return createHash('sha256')
    .update(`${c.req.method} ${url.pathname}${url.search}\n`)
    .update(new Uint8Array(await c.req.arrayBuffer()))
    .digest('base64url')
}

async function storable(response: Response): Promise<StoredResponse> {
  const headers: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = response.headers.get(name)
    if (value !== null) headers[name] = value
  }
  return { status: response.status, headers, body: new Uint8Array(await response.clone().arrayBuffer()) }
}

function replayOf(stored: StoredResponse): Response {
  const bodiless = stored.status === 204 || stored.status === 304
  return new Response(bodiless ? null : stored.body, { status: stored.status, headers: { ...stored.headers, [REPLAYED_HEADER]: 'true' } })
}
