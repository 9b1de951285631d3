import type { Envelope, Position } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'

export type InboxStatus = 'done' | 'pending' | 'dead'

/**
 * Records messages in the consumer's inbox and returns the ids seen for the first time: a redelivered
 * message finds its row and is skipped. 'pending' rows keep the envelope for deferred processing.
 */
export async function claimMessages(
  tx: Queryable,
  schema: string,
  consumer: string,
  messages: readonly Envelope[],
  status: InboxStatus,
): Promise<Set<string>> {
  if (messages.length === 0) return new Set()
  const keep = status === 'pending'
  const result = await tx.query<{ message_id: string }>(
    `INSERT INTO ${schemaName(schema)}.inbox (consumer, message_id, status, key, envelope, next_attempt_at)
     SELECT $1, m.id, $2::text, m.key, m.envelope::jsonb, CASE WHEN $2::text = 'pending' THEN now() END
     FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS m(id, key, envelope, ord)
     ORDER BY m.ord
     ON CONFLICT (consumer, message_id) DO NOTHING
     RETURNING message_id`,
    [consumer, status, messages.map((m) => m.id), messages.map((m) => m.key), messages.map((m) => (keep ? JSON.stringify(m) : null))],
  )
  return new Set(result.rows.map((r) => r.message_id))
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
}

/**
 * Deferred messages that are due, at most one per key and only the oldest pending one of each key, so a
 * key whose message is waiting for a retry holds its later messages back (per-key order).
 */
export async function duePendingMessages(db: Queryable, schema: string, consumer: string, limit: number): Promise<PendingMessage[]> {
  const s = schemaName(schema)
  const result = await db.query<{ envelope: Envelope; attempts: number }>(
    `SELECT envelope, attempts FROM (
       SELECT DISTINCT ON (key) envelope, attempts, next_attempt_at, seq FROM ${s}.inbox
       WHERE consumer = $1 AND status = 'pending'
       ORDER BY key, seq
     ) heads
     WHERE next_attempt_at <= now()
     ORDER BY seq
     LIMIT $2`,
    [consumer, limit],
  )
  return result.rows.map((r) => ({ envelope: r.envelope, attempts: Number(r.attempts) }))
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

/** The feed position of the oldest message of `source` still waiting in a deferred consumer's inbox. */
export async function oldestPendingPosition(db: Queryable, schema: string, consumer: string, source: string): Promise<Position | undefined> {
  const result = await db.query<{ position: string | null }>(
    `SELECT envelope->>'position' AS position FROM ${schemaName(schema)}.inbox
     WHERE consumer = $1 AND status = 'pending' AND envelope->>'source' = $2 ORDER BY seq LIMIT 1`,
    [consumer, source],
  )
  return result.rows[0]?.position ?? undefined
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
