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
  /** Answers given and not yet written, by caller and key; written together, a batch per statement. */
  private readonly unwritten = new Map<string, { request: KeyedRequest; response: StoredResponse }>()
  private writing?: Promise<void>

  constructor(
    private readonly db: Database,
    private readonly schema: string,
    private readonly options: { clock?: Clock; retentionMs?: number | undefined } = {},
  ) {}

  async find(caller: string, key: string): Promise<UsedKey | undefined> {
    const used = await this.stored(caller, key)
    const answer = this.unwritten.get(JSON.stringify([caller, key]))
    if (used && !used.response && answer?.request.fingerprint === used.fingerprint) used.response = answer.response
    return used
  }

  private async stored(caller: string, key: string): Promise<UsedKey | undefined> {
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
   * Last statement of a keyed command's transaction: claims the key and records the outcome, committed
   * with the command (an expired key's row is reused). The key's transactions take a lock first, tried and
   * never waited for: while another one holds it, `IdempotencyKeyInUse`; a key some request committed
   * since this one looked is `KeyAlreadyUsed`. Either way nothing of this transaction is kept.
   */
  async record(tx: Queryable, request: KeyedRequest, outcome: CommandOutcome): Promise<void> {
    const { rows } = await tx.query<{ held: boolean; kept: boolean }>(
      `WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtextextended($6, 0)) AS held),
       kept AS (
         INSERT INTO ${this.schema}.idempotency_keys AS k (caller, key, fingerprint, outcome, created_at)
         SELECT $1, $2, $3, $4, $5 FROM lock WHERE held
         ON CONFLICT (caller, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, outcome = EXCLUDED.outcome, status = NULL, headers = NULL, body = NULL, created_at = EXCLUDED.created_at
           WHERE k.created_at <= $7
         RETURNING 1
       )
       SELECT (SELECT held FROM lock) AS held, EXISTS (SELECT 1 FROM kept) AS kept`,
      [request.caller, request.key, request.fingerprint, serialize(outcome), this.now(), JSON.stringify([this.schema, request.caller, request.key]), this.oldestKept()],
    )
    if (!rows[0]?.held) throw new IdempotencyKeyInUse()
    if (!rows[0].kept) throw new KeyAlreadyUsed()
  }

  /**
   * Keeps the answer given for a recorded key; the first one kept stays. It is written after the response
   * has gone, together with the other answers given meanwhile (one statement for all of them: under load, a
   * keyed command costs one transaction, not two); until then this process replays it from memory. Should
   * the process die first, a retry gets the answer the route makes of the recorded outcome, as after a
   * crash between the commit and the answer.
   */
  answered(request: KeyedRequest, response: StoredResponse): Promise<void> {
    const id = JSON.stringify([request.caller, request.key])
    if (!this.unwritten.has(id)) this.unwritten.set(id, { request, response })
    return (this.writing ??= this.writeAnswers())
  }

  /** Writes what was answered until none is left: one batch in flight, the next gathered meanwhile. */
  private async writeAnswers(): Promise<void> {
    try {
      while (this.unwritten.size > 0) {
        await Promise.resolve() // let the answers of the same tick join the batch
        const batch = [...this.unwritten.values()].slice(0, 500)
        try {
          await this.db.query(
            `UPDATE ${this.schema}.idempotency_keys AS k SET status = a.status, headers = a.headers::jsonb, body = a.body
             FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bytea[]) AS a(caller, key, status, headers, body)
             WHERE k.caller = a.caller AND k.key = a.key AND k.status IS NULL`,
            [
              batch.map((a) => a.request.caller),
              batch.map((a) => a.request.key),
              batch.map((a) => a.response.status),
              batch.map((a) => JSON.stringify(a.response.headers)),
              batch.map((a) => Buffer.from(a.response.body)),
            ],
          )
        } finally {
          // Written or not (then a retry rebuilds the answer from the outcome): never held for ever.
          for (const a of batch) this.unwritten.delete(JSON.stringify([a.request.caller, a.request.key]))
        }
      }
    } finally {
      this.writing = undefined
    }
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
