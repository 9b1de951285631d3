import { START, type Position } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'
import type { Write } from '../database/writes'

/** How far a consumer has processed each feed it follows; written in the same transaction as its effects. */
export async function readCheckpoint(db: Queryable, schema: string, consumer: string, source: string): Promise<Position> {
  const result = await db.query<{ position: string }>(
    `SELECT position FROM ${schemaName(schema)}.checkpoints WHERE consumer = $1 AND source = $2`,
    [consumer, source],
  )
  return result.rows[0]?.position ?? START
}

/**
 * How far a consumer has applied a feed in its producer's outbox (for a broker partition, whose positions
 * are the broker's, the furthest `meta.sourcePosition`): undefined when it has applied nothing.
 */
export async function readSourceCheckpoint(db: Queryable, schema: string, consumer: string, source: string): Promise<Position | undefined> {
  const result = await db.query<{ source_position: string | null }>(
    `SELECT source_position FROM ${schemaName(schema)}.checkpoints WHERE consumer = $1 AND source = $2`,
    [consumer, source],
  )
  return result.rows[0]?.source_position ?? undefined
}

export async function saveCheckpoint(
  tx: Queryable,
  schema: string,
  consumer: string,
  source: string,
  position: Position,
  lastOccurredAt: string,
  sourcePosition?: Position,
): Promise<void> {
  const { sql, params } = checkpointing(schema, consumer, source, position, lastOccurredAt, sourcePosition)
  await tx.query(sql, params)
}

/** The write of `saveCheckpoint`: to send with others (`withWrites`). */
export function checkpointing(schema: string, consumer: string, source: string, position: Position, lastOccurredAt: string, sourcePosition?: Position): Write {
  return {
    sql: `INSERT INTO ${schemaName(schema)}.checkpoints (consumer, source, position, last_occurred_at, updated_at, source_position)
     VALUES ($1, $2, $3, $4, now(), $5)
     ON CONFLICT (consumer, source) DO UPDATE
       SET position = excluded.position, last_occurred_at = excluded.last_occurred_at, updated_at = excluded.updated_at,
           source_position = COALESCE(excluded.source_position, checkpoints.source_position)`,
    params: [consumer, source, position, lastOccurredAt, sourcePosition ?? null],
  }
}

export interface CheckpointRow {
  consumer: string
  source: string
  position: Position
  updatedAt: Date
}

export async function listCheckpoints(db: Queryable, schema: string): Promise<CheckpointRow[]> {
  const result = await db.query<{ consumer: string; source: string; position: string; updated_at: Date | string }>(
    `SELECT consumer, source, position, updated_at FROM ${schemaName(schema)}.checkpoints ORDER BY consumer, source`,
  )
  return result.rows.map((r) => ({ consumer: r.consumer, source: r.source, position: r.position, updatedAt: new Date(r.updated_at) }))
}

export async function deleteCheckpoints(tx: Queryable, schema: string, consumer: string): Promise<void> {
  await tx.query(`DELETE FROM ${schemaName(schema)}.checkpoints WHERE consumer = $1`, [consumer])
}
