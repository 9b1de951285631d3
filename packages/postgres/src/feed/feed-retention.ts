import { comparePositions, isPosition, parsePosition, type Position } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'

export interface RetentionPolicy {
  /** Events younger than this are always kept. */
  retainMs: number
  /** A reader not seen for this long no longer holds events back. */
  readerLivenessMs: number
}

export const defaultRetention: RetentionPolicy = { retainMs: 7 * 24 * 3600_000, readerLivenessMs: 24 * 3600_000 }

/** The readers of a feed seen within `livenessMs`, with the position each last reported. */
export async function liveReaders(db: Queryable, schema: string, livenessMs: number): Promise<Map<string, Position>> {
  const readers = await db.query<{ reader: string; position: string }>(
    `SELECT reader, position FROM ${schemaName(schema)}.feed_readers WHERE seen_at > now() - $1 * interval '1 millisecond'`,
    [livenessMs],
  )
  return new Map(readers.rows.filter((r) => isPosition(r.position)).map((r) => [r.reader, r.position]))
}

/** The position of the slowest reader of a feed seen within `livenessMs`; undefined when none was. */
export async function slowestLiveReader(db: Queryable, schema: string, livenessMs: number): Promise<Position | undefined> {
  return slowest((await liveReaders(db, schema, livenessMs)).values())
}

export function slowest(positions: Iterable<Position>): Position | undefined {
  return [...positions].sort(comparePositions).at(0)
}

/**
 * Deletes old events from a feed, but never one that a live reader has not passed yet. Returns how many
 * rows went.
 */
export async function cleanupFeed(db: Queryable, schema: string, policy: RetentionPolicy = defaultRetention): Promise<number> {
  const s = schemaName(schema)
  // Readers not seen within the liveness window no longer hold anything back: forget them.
  await db.query(`DELETE FROM ${s}.feed_readers WHERE seen_at < now() - $1 * interval '1 millisecond'`, [policy.readerLivenessMs])
  const slowest = await slowestLiveReader(db, schema, policy.readerLivenessMs)
  const bound = slowest === undefined ? undefined : parsePosition(slowest)
  // In small batches, each its own short transaction: an open transaction holds every feed's horizon back.
  let deleted = 0
  for (;;) {
    // Each batch notes the last position it deleted in the same statement, so that a rebuild can tell that
    // reading from the start no longer sees everything (see `trimmedThrough`).
    const result = await db.query<{ n: string }>(
      `WITH gone AS (
         DELETE FROM ${s}.outbox WHERE (feed_xid, seq) IN (
           SELECT o.feed_xid, o.seq FROM ${s}.outbox o
           WHERE o.occurred_at < now() - $1 * interval '1 millisecond'
             AND ($2::text IS NULL OR (o.feed_xid, o.seq) <= ($2::text::xid8, $3::bigint))
           ORDER BY o.feed_xid, o.seq LIMIT $4)
         RETURNING feed_xid, seq),
       last AS (SELECT feed_xid::text || '-' || seq::text AS through FROM gone ORDER BY feed_xid DESC, seq DESC LIMIT 1),
       noted AS (
         INSERT INTO ${s}.feed_trimmed (through, trimmed_at) SELECT through, now() FROM last
         ON CONFLICT (only_row) DO UPDATE SET through = excluded.through, trimmed_at = excluded.trimmed_at)
       SELECT count(*)::text AS n FROM gone`,
      [policy.retainMs, bound?.xid.toString() ?? null, bound?.seq.toString() ?? null, CLEANUP_BATCH],
    )
    const count = Number(result.rows[0]?.n ?? 0)
    deleted += count
    if (count < CLEANUP_BATCH) return deleted
  }
}

const CLEANUP_BATCH = 5_000

/** The last position retention has deleted from this schema's feed; undefined while it has deleted none. */
export async function trimmedThrough(db: Queryable, schema: string): Promise<Position | undefined> {
  const result = await db.query<{ through: string }>(`SELECT through FROM ${schemaName(schema)}.feed_trimmed`)
  return result.rows[0]?.through
}
