import type { Envelope, Position } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'
import type { Write } from '../database/writes'

export type InboxStatus = 'done' | 'pending' | 'dead'

/**
 * Records messages in the consumer's inbox and returns the ids seen for the first time: a redelivered
 * message finds its row and is skipped. 'pending' rows keep the envelope for deferred processing, and the
 * lane (the feed or partition) it came in on — by default its source.
 */
export async function claimMessages(
  tx: Queryable,
  schema: string,
  consumer: string,
  messages: readonly Envelope[],
  status: InboxStatus,
  lane?: string,
): Promise<Set<string>> {
  if (messages.length === 0) return new Set()
  const { sql, params } = claiming(schema, consumer, messages.map((message) => ({ message, status, lane })))
  const result = await tx.query<{ message_id: string }>(sql, params)
  return new Set(result.rows.map((r) => r.message_id))
}

/** A message to record in the inbox: applied (`done`), `dead`, or `pending` in its lane (deferred, or `held` for what it names). */
export interface InboxClaim {
  message: Envelope
  status: InboxStatus
  lane?: string
  held?: boolean
}

/** Which of these message ids the consumer's inbox has not seen. It only reads, so a page may ask before it writes. */
export async function unseenMessages(tx: Queryable, schema: string, consumer: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const result = await tx.query<{ message_id: string }>(`SELECT message_id FROM ${schemaName(schema)}.inbox WHERE consumer = $1 AND message_id = ANY($2::text[])`, [
    consumer,
    ids,
  ])
  const seen = new Set(result.rows.map((r) => r.message_id))
  return new Set(ids.filter((id) => !seen.has(id)))
}

/**
 * The write that records these claims, in their order, returning the ids it recorded (an id recorded
 * before, by someone else meanwhile, or earlier in the list is not): to send with others (`withWrites`). A pending claim
 * keeps its envelope and lane; a held one also says since when it waits.
 */
export function claiming(schema: string, consumer: string, claims: readonly InboxClaim[]): Write {
  const pending = (c: InboxClaim) => c.status === 'pending'
  return {
    sql: `INSERT INTO ${schemaName(schema)}.inbox (consumer, message_id, status, key, envelope, lane, next_attempt_at, held_since)
     SELECT $1, m.id, m.status, m.key, m.envelope::jsonb, m.lane, CASE WHEN m.status = 'pending' THEN now() END, CASE WHEN m.held THEN now() END
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[]) WITH ORDINALITY AS m(id, status, key, envelope, lane, held, ord)
     ORDER BY m.ord
     ON CONFLICT (consumer, message_id) DO NOTHING
     RETURNING message_id`,
    params: [
      consumer,
      claims.map((c) => c.message.id),
      claims.map((c) => c.status),
      claims.map((c) => c.message.key),
      claims.map((c) => (pending(c) ? JSON.stringify(c.message) : null)),
      claims.map((c) => (pending(c) ? (c.lane ?? c.message.source) : null)),
      claims.map((c) => c.held === true),
    ],
  }
}

/** Which of these keys have a message pending in the lane (a later message of such a key must wait behind it). */
export async function pendingKeys(tx: Queryable, schema: string, consumer: string, lane: string, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  const result = await tx.query<{ key: string }>(
    `SELECT DISTINCT key FROM ${schemaName(schema)}.inbox WHERE consumer = $1 AND status = 'pending' AND lane = $2 AND key = ANY($3::text[])`,
    [consumer, lane, [...new Set(keys)]],
  )
  return new Set(result.rows.map((r) => r.key))
}

/**
 * Whether anything of a source waits in the consumer's inbox, in its lane or one of its partitions' (a
 * message that names a position of it may be waiting for just that).
 */
export async function hasPendingOf(db: Queryable, schema: string, consumer: string, source: string): Promise<boolean> {
  const result = await db.query(
    `SELECT 1 FROM ${schemaName(schema)}.inbox WHERE consumer = $1 AND status = 'pending' AND (lane = $2 OR lane LIKE $3) LIMIT 1`,
    [consumer, source, `${source}#%`],
  )
  return result.rows.length > 0
}

/** Whether anything is pending in these lanes (all of the consumer's when none are given). */
export async function hasPending(db: Queryable, schema: string, consumer: string, lanes?: readonly string[]): Promise<boolean> {
  const result = await db.query(
    `SELECT 1 FROM ${schemaName(schema)}.inbox WHERE consumer = $1 AND status = 'pending' AND ($2::text[] IS NULL OR lane = ANY($2::text[])) LIMIT 1`,
    [consumer, lanes ?? null],
  )
  return result.rows.length > 0
}

/** A dead message is being replayed: it counts as processed. False when it is not dead (any more) here. */
export async function markProcessed(tx: Queryable, schema: string, consumer: string, messageId: string): Promise<boolean> {
  const result = await tx.query(
    `UPDATE ${schemaName(schema)}.inbox SET status = 'done', envelope = NULL WHERE consumer = $1 AND message_id = $2 AND status = 'dead'`,
    [consumer, messageId],
  )
  return result.rowCount > 0
}

export interface PendingMessage {
  envelope: Envelope
  attempts: number
  /** How long it has waited for the positions it names (0 when it never has). */
  waitedMs: number
  /** The feed or partition it came in on. */
  lane: string
}

/**
 * Pending messages that are due, at most one per key of a lane and only the oldest pending one, so a key
 * whose message is waiting (for a retry, or for what it depends on) holds its later messages back
 * (per-key order, as each feed has it; two feeds are not ordered with each other, and a message held for
 * another feed must not wait behind that feed's messages of its key). Only those of the given lanes, when
 * lanes are given.
 */
export async function duePendingMessages(db: Queryable, schema: string, consumer: string, limit: number, lanes?: readonly string[]): Promise<PendingMessage[]> {
  const s = schemaName(schema)
  const result = await db.query<{ envelope: Envelope; attempts: number; waited_ms: number | string; lane: string | null }>(
    `SELECT envelope, attempts, waited_ms, lane FROM (
       SELECT DISTINCT ON (lane, key) envelope, attempts, next_attempt_at, seq, lane,
         COALESCE(extract(epoch FROM now() - held_since) * 1000, 0)::float8 AS waited_ms
       FROM ${s}.inbox
       WHERE consumer = $1 AND status = 'pending' AND ($3::text[] IS NULL OR lane = ANY($3::text[]))
       ORDER BY lane, key, seq
     ) heads
     WHERE next_attempt_at <= now()
     ORDER BY seq
     LIMIT $2`,
    [consumer, limit, lanes ?? null],
  )
  return result.rows.map((r) => ({ envelope: r.envelope, attempts: Number(r.attempts), waitedMs: Number(r.waited_ms), lane: r.lane ?? r.envelope.source }))
}

/**
 * Held messages whose positions are not applied yet step out of the due window for a moment (no attempt
 * counted), so the worker sees the ones behind them; their wait counts from the first time.
 */
export async function stillHeld(db: Queryable, schema: string, consumer: string, messageIds: readonly string[], delayMs: number): Promise<void> {
  if (messageIds.length === 0) return
  await db.query(
    `UPDATE ${schemaName(schema)}.inbox SET next_attempt_at = now() + $3 * interval '1 millisecond', held_since = COALESCE(held_since, now())
     WHERE consumer = $1 AND status = 'pending' AND message_id = ANY($2::text[])`,
    [consumer, messageIds, delayMs],
  )
}

export async function settlePending(tx: Queryable, schema: string, consumer: string, messageId: string, status: 'done' | 'dead'): Promise<boolean> {
  const result = await tx.query(
    `UPDATE ${schemaName(schema)}.inbox SET status = $3, envelope = NULL, next_attempt_at = NULL
     WHERE consumer = $1 AND message_id = $2 AND status = 'pending'`,
    [consumer, messageId, status],
  )
  return result.rowCount > 0
}

export async function postponePending(
  db: Queryable,
  schema: string,
  consumer: string,
  messageId: string,
  delayMs: number,
  error: string,
): Promise<void> {
  await db.query(
    `UPDATE ${schemaName(schema)}.inbox
     SET attempts = attempts + 1, next_attempt_at = now() + $3 * interval '1 millisecond', last_error = $4
     WHERE consumer = $1 AND message_id = $2 AND status = 'pending'`,
    [consumer, messageId, delayMs, error.slice(0, 4000)],
  )
}

/**
 * The oldest message still pending in a lane: its position in the lane's feed, and in its producer's
 * outbox (the same, unless it came through a broker).
 */
export async function oldestPending(db: Queryable, schema: string, consumer: string, lane: string): Promise<{ position: Position; sourcePosition: Position } | undefined> {
  const result = await db.query<{ position: string | null; source_position: string | null }>(
    `SELECT envelope->>'position' AS position, envelope->'meta'->>'sourcePosition' AS source_position FROM ${schemaName(schema)}.inbox
     WHERE consumer = $1 AND status = 'pending' AND lane = $2 ORDER BY seq LIMIT 1`,
    [consumer, lane],
  )
  const row = result.rows[0]
  if (!row?.position) return undefined
  return { position: row.position, sourcePosition: row.source_position ?? row.position }
}

export async function countPending(db: Queryable, schema: string, consumer: string): Promise<number> {
  const result = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${schemaName(schema)}.inbox WHERE consumer = $1 AND status = 'pending'`,
    [consumer],
  )
  return Number(result.rows[0]!.n)
}

/** Forgets processed messages older than the longest redelivery window any transport has. */
export async function pruneInbox(db: Queryable, schema: string, olderThanMs: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM ${schemaName(schema)}.inbox WHERE status = 'done' AND received_at < now() - $1 * interval '1 millisecond'`,
    [olderThanMs],
  )
  return result.rowCount
}

export async function forgetConsumer(tx: Queryable, schema: string, consumer: string): Promise<void> {
  await tx.query(`DELETE FROM ${schemaName(schema)}.inbox WHERE consumer = $1`, [consumer])
}
