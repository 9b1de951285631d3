import { formatPosition, VersionConflict, type Envelope, type Position } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName, storableJson } from '../database/sql'
import { runWrites, withWrites, type Write } from '../database/writes'

/** Events are notifications, not documents: anything larger is refused before it reaches the feed. */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024

/**
 * Appends envelopes to a service's outbox inside the caller's transaction and returns each one with its
 * feed position.
 *
 * Gap safety: a row sorts under `feed_xid`, the writing transaction's id, and readers never pass the
 * oldest transaction still running. Transaction ids are not commit order, though: a transaction that got
 * its id before it waited for an aggregate's lock commits after the holder yet would sort before it. So an
 * event sorts under the greater of its own transaction id and the one its key's latest event sorts under,
 * which keeps every key's events in commit (and version) order in the feed.
 */
export async function appendToOutbox(
  tx: Queryable,
  schema: string,
  envelopes: readonly Envelope[],
  maxEventBytes = DEFAULT_MAX_EVENT_BYTES,
  /** Writes sent in the same statement, before the events (a command's row): see `withWrites`. */
  before: readonly Write[] = [],
): Promise<Envelope[]> {
  if (envelopes.length === 0) {
    await runWrites(tx, before)
    return []
  }
  const s = schemaName(schema)
  const rows = envelopes.map((e) => [
    e.id,
    e.type,
    e.key,
    e.version ?? null,
    e.occurredAt,
    storableJson(e.data, `The data of ${e.type}`, maxEventBytes),
    storableJson(e.meta ?? {}, `The meta of ${e.type}`),
  ])
  try {
    const positions = envelopes.length === 1 ? await appendOne(tx, s, envelopes[0]!, rows[0]!, before) : await appendMany(tx, s, rows, before)
    return envelopes.map((e) => ({ ...e, position: positions.get(e.id)! }))
  } catch (error) {
    const conflict = versionConflictIn(error, envelopes)
    throw conflict ?? error
  }
}

type Row = unknown[]

/**
 * The common case, one event: a one-row VALUES insert. Version 1 is an aggregate's first event, so there
 * is no earlier event of its key to sort after and the lookup is skipped.
 */
async function appendOne(tx: Queryable, s: string, e: Envelope, row: Row, before: readonly Write[]): Promise<Map<string, Position>> {
  const sortUnder =
    e.version === 1 ? 'pg_current_xact_id()' : `greatest(pg_current_xact_id(), (SELECT max(o.feed_xid) FROM ${s}.outbox o WHERE o.key = $3))`
  const insert = withWrites(before, {
    sql: `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
     VALUES (${sortUnder}, $1::uuid, $2, $3, $4::bigint, $5::timestamptz, $6::jsonb, $7::jsonb)
     RETURNING feed_xid::text AS xid, seq::text AS seq`,
    params: row,
  })
  const result = await tx.query<{ xid: string; seq: string }>(insert.sql, insert.params)
  const { xid, seq } = result.rows[0]!
  return new Map([[e.id, formatPosition({ xid: BigInt(xid), seq: BigInt(seq) })]])
}

async function appendMany(tx: Queryable, s: string, rows: Row[], before: readonly Write[]): Promise<Map<string, Position>> {
  const columns = rows[0]!.map((_, i) => rows.map((row) => row[i]))
  const insert = withWrites(before, {
    sql: `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
     SELECT greatest(pg_current_xact_id(), (SELECT max(o.feed_xid) FROM ${s}.outbox o WHERE o.key = e.key)),
            e.id::uuid, e.type, e.key, e.version, e.occurred_at::timestamptz, e.data::jsonb, e.meta::jsonb
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
          WITH ORDINALITY AS e(id, type, key, version, occurred_at, data, meta, ord)
     ORDER BY e.ord
     RETURNING id::text AS id, feed_xid::text AS xid, seq::text AS seq`,
    params: columns,
  })
  const result = await tx.query<{ id: string; xid: string; seq: string }>(insert.sql, insert.params)
  return new Map(result.rows.map((r) => [r.id, formatPosition({ xid: BigInt(r.xid), seq: BigInt(r.seq) })]))
}

function versionConflictIn(error: unknown, envelopes: readonly Envelope[]): VersionConflict | undefined {
  const e = error as { code?: string; constraint?: string; message?: string }
  const isKeyVersion = e.code === '23505' && (e.constraint === 'outbox_key_version' || /outbox_key_version/.test(e.message ?? ''))
  if (!isKeyVersion) return undefined
  const first = envelopes.find((x) => x.version !== undefined)
  return new VersionConflict(first?.key ?? '?', first?.version ?? 0)
}
