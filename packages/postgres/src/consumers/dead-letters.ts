import type { Envelope } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'

export interface DeadLetter {
  id: string
  consumer: string
  messageId: string
  envelope: Envelope
  error: string
  attempts: number
  failedAt: Date
}

interface DeadLetterRow {
  id: string
  consumer: string
  message_id: string
  envelope: Envelope
  error: string
  attempts: number
  failed_at: Date | string
}

export async function addDeadLetter(
  tx: Queryable,
  schema: string,
  consumer: string,
  envelope: Envelope,
  error: unknown,
  attempts: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO ${schemaName(schema)}.dead_letters (consumer, message_id, envelope, error, attempts) VALUES ($1, $2, $3, $4, $5)`,
    [consumer, envelope.id, JSON.stringify(envelope), describeError(error), attempts],
  )
}

export async function listDeadLetters(db: Queryable, schema: string, consumer?: string, limit = 100): Promise<DeadLetter[]> {
  const result = await db.query<DeadLetterRow>(
    `SELECT d.id::text AS id, consumer, message_id, envelope, error, attempts, failed_at FROM ${schemaName(schema)}.dead_letters d
     WHERE replayed_at IS NULL AND ($1::text IS NULL OR consumer = $1) ORDER BY d.id LIMIT $2`,
    [consumer ?? null, limit],
  )
  return result.rows.map(toDeadLetter)
}

/** One dead letter, replayed or not; undefined when there is no such id in the schema. */
export async function findDeadLetter(db: Queryable, schema: string, id: string): Promise<(DeadLetter & { replayedAt: Date | null }) | undefined> {
  if (!/^[0-9]{1,18}$/.test(id)) return undefined
  const result = await db.query<DeadLetterRow & { replayed_at: Date | string | null }>(
    `SELECT id::text AS id, consumer, message_id, envelope, error, attempts, failed_at, replayed_at FROM ${schemaName(schema)}.dead_letters WHERE id = $1::bigint`,
    [id],
  )
  const row = result.rows[0]
  return row ? { ...toDeadLetter(row), replayedAt: row.replayed_at === null ? null : new Date(row.replayed_at) } : undefined
}

/** Marks a dead letter replayed and returns it, inside the replay's transaction: a second replay finds nothing. */
export async function takeDeadLetter(tx: Queryable, schema: string, consumer: string, id: string): Promise<DeadLetter | undefined> {
  if (!/^[0-9]{1,18}$/.test(id)) return undefined
  const result = await tx.query<DeadLetterRow>(
    `UPDATE ${schemaName(schema)}.dead_letters SET replayed_at = now()
     WHERE id = $1::bigint AND consumer = $2 AND replayed_at IS NULL
     RETURNING id::text AS id, consumer, message_id, envelope, error, attempts, failed_at`,
    [id, consumer],
  )
  const row = result.rows[0]
  return row ? toDeadLetter(row) : undefined
}

/** A rebuild replays every message again (a still-failing one is dead-lettered anew): older letters are void. */
export async function closeDeadLetters(tx: Queryable, schema: string, consumer: string): Promise<void> {
  await tx.query(`UPDATE ${schemaName(schema)}.dead_letters SET replayed_at = now() WHERE consumer = $1 AND replayed_at IS NULL`, [consumer])
}

export async function countDeadLetters(db: Queryable, schema: string): Promise<Map<string, number>> {
  const result = await db.query<{ consumer: string; n: string }>(
    `SELECT consumer, count(*)::text AS n FROM ${schemaName(schema)}.dead_letters WHERE replayed_at IS NULL GROUP BY consumer`,
  )
  return new Map(result.rows.map((r) => [r.consumer, Number(r.n)]))
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 4000)
  return String(error).slice(0, 4000)
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    consumer: row.consumer,
    messageId: row.message_id,
    envelope: row.envelope,
    error: row.error,
    attempts: Number(row.attempts),
    failedAt: new Date(row.failed_at),
  }
}
