import { deserialize, serialize } from 'node:v8'
import { systemClock, TidingsError, type Clock, type ConsistencyToken } from '@tidings/core'
import type { Database, Queryable } from '../database/database'

/** How long a key is remembered unless told otherwise: a day, as Stripe's keys are. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 3600_000

/** One request under a key: who sent it, the key, and a digest of its method, path and body. */
export interface KeyedRequest {
  caller: string
  key: string
  fingerprint: string
}

/** What a command left for its replays: its result (plain data) and consistency token. */
export interface CommandOutcome {
  result: unknown
  token?: ConsistencyToken
}

/** The answer a route gave for a keyed command, as its replays give it again. */
export interface StoredResponse {
  status: number
  headers: Record<string, string>
  body: Uint8Array
}

/** A key seen before: the request it came with, what its command did, and the answer, once given. */
export interface UsedKey {
  fingerprint: string
  outcome: CommandOutcome
  response?: StoredResponse
}

/** Another request with the same key is running its command right now. */
export class IdempotencyKeyInUse extends TidingsError {
  constructor() {
    super('IDEMPOTENCY_KEY_IN_USE', 'conflict', 'A request with this Idempotency-Key is still being processed; retry once it has been answered')
  }
}

/**
 * Raised inside a keyed command's transaction when its key turned out to be used by a request that committed
 * meanwhile: nothing is written, and the request is answered as that one's replay (see `idempotent` in http).
 */
export class KeyAlreadyUsed extends TidingsError {
  constructor() {
    super('IDEMPOTENCY_KEY_IN_USE', 'conflict', 'A request with this Idempotency-Key has just been processed; retry to get its answer')
  }
}

/**
 * The keyed commands of one schema: each key's outcome is written in its command's transaction (so a
 * crash after the commit loses no answer), the response once it has been sent. Keys older than the
 * retention are forgotten: a retry after that runs the command again.
 */
export class IdempotencyKeys {
  constructor(
    private readonly db: Database,
    private readonly schema: string,
    private readonly options: { clock?: Clock; retentionMs?: number | undefined } = {},
  ) {}

  async find(caller: string, key: string): Promise<UsedKey | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT fingerprint, outcome, status, headers, body FROM ${this.schema}.idempotency_keys WHERE caller = $1 AND key = $2 AND created_at > $3`,
      [caller, key, this.oldestKept()],
    )
    const row = rows[0]
    if (!row) return undefined
    const used: UsedKey = { fingerprint: row.fingerprint, outcome: deserialize(row.outcome) as CommandOutcome }
    if (row.status !== null) used.response = { status: row.status, headers: row.headers ?? {}, body: row.body ?? new Uint8Array() }
    return used
  }

  /**
   * First statement of a keyed command's transaction: the key is held until it ends (`IdempotencyKeyInUse`
   * for anyone else meanwhile), and must not have been used since the request looked (`KeyAlreadyUsed`).
   */
  async claim(tx: Queryable, request: KeyedRequest): Promise<void> {
    const { rows } = await tx.query<{ held: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS held`, [
      JSON.stringify([this.schema, request.caller, request.key]),
    ])
    if (!rows[0]?.held) throw new IdempotencyKeyInUse()
    const used = await tx.query(`SELECT 1 FROM ${this.schema}.idempotency_keys WHERE caller = $1 AND key = $2 AND created_at > $3`, [request.caller, request.key, this.oldestKept()])
    if (used.rows.length > 0) throw new KeyAlreadyUsed()
  }

  /** Last statement of a keyed command's transaction: its outcome, committed with it (an expired key's row is reused). */
  async record(tx: Queryable, request: KeyedRequest, outcome: CommandOutcome): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.schema}.idempotency_keys (caller, key, fingerprint, outcome, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (caller, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, outcome = EXCLUDED.outcome, status = NULL, headers = NULL, body = NULL, created_at = EXCLUDED.created_at`,
      [request.caller, request.key, request.fingerprint, serialize(outcome), this.now()],
    )
  }

  /** Keeps the answer given for a recorded key; the first one kept stays. */
  async answered(request: KeyedRequest, response: StoredResponse): Promise<void> {
    await this.db.query(
      `UPDATE ${this.schema}.idempotency_keys SET status = $3, headers = $4, body = $5 WHERE caller = $1 AND key = $2 AND status IS NULL`,
      [request.caller, request.key, response.status, JSON.stringify(response.headers), response.body],
    )
  }

  private now(): Date {
    return (this.options.clock ?? systemClock).now()
  }

  private oldestKept(): Date {
    return new Date(this.now().getTime() - (this.options.retentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS))
  }
}

/** Housekeeping: forgets keys older than the retention. Returns how many. */
export async function purgeIdempotencyKeys(db: Queryable, schema: string, retentionMs: number, now: Date = new Date()): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM ${schema}.idempotency_keys WHERE created_at <= $1`, [new Date(now.getTime() - retentionMs)])
  return rowCount
}

interface Row {
  fingerprint: string
  outcome: Uint8Array
  status: number | null
  headers: Record<string, string> | null
  body: Uint8Array | null
}
