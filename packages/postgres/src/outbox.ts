import { formatPosition, VersionConflict, type Envelope, type Position } from '@tidings/core'
import type { Queryable } from './database'
import { schemaName, storableJson } from './sql'

/**
 * Appends envelopes to a service's outbox inside the caller's transaction and returns each one with its
 * feed position.
 *
 * Gap safety: a row sorts under `feed_xid`, the writing transaction's id, and readers never pass the
 * oldest transaction still running. Transaction ids are not commit order, though: a transaction that got
 * its id before it waited for an aggregate's lock commits after the holder yet would sort before it. So an
 * event of a versioned aggregate sorts under the greater of its own transaction id and the one of the
 * aggregate's previous event, which keeps every key's events in version order in the feed.
 */
/** Events are notifications, not documents: anything larger is refused before it reaches the feed. */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024

export async function appendToOutbox(
  tx: Queryable,
  schema: string,
  envelopes: readonly Envelope[],
  maxEventBytes = DEFAULT_MAX_EVENT_BYTES,
): Promise<Envelope[]> {
  if (envelopes.length === 0) return []
  const s = schemaName(schema)
  const columns = {
    id: [] as string[],
    type: [] as string[],
    key: [] as string[],
    version: [] as (number | null)[],
    occurredAt: [] as string[],
    data: [] as string[],
    meta: [] as string[],
  }
  for (const e of envelopes) {
    columns.id.push(e.id)
    columns.type.push(e.type)
    columns.key.push(e.key)
    columns.version.push(e.version ?? null)
    columns.occurredAt.push(e.occurredAt)
    columns.data.push(storableJson(e.data, `The data of ${e.type}`, maxEventBytes))
    columns.meta.push(storableJson(e.meta ?? {}, `The meta of ${e.type}`))
  }
  try {
    const result = await tx.query<{ id: string; xid: string; seq: string }>(
      `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
       SELECT greatest(pg_current_xact_id(), (SELECT max(o.feed_xid) FROM ${s}.outbox o WHERE o.key = e.key)),
              e.id::uuid, e.type, e.key, e.version, e.occurred_at::timestamptz, e.data::jsonb, e.meta::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
            WITH ORDINALITY AS e(id, type, key, version, occurred_at, data, meta, ord)
       ORDER BY e.ord
       RETURNING id::text AS id, feed_xid::text AS xid, seq::text AS seq`,
      [columns.id, columns.type, columns.key, columns.version, columns.occurredAt, columns.data, columns.meta],
    )
    const positions = new Map<string, Position>()
    for (const row of result.rows) positions.set(row.id, formatPosition({ xid: BigInt(row.xid), seq: BigInt(row.seq) }))
    return envelopes.map((e) => ({ ...e, position: positions.get(e.id)! }))
  } catch (error) {
    const conflict = versionConflictIn(error, envelopes)
    throw conflict ?? error
  }
}

function versionConflictIn(error: unknown, envelopes: readonly Envelope[]): VersionConflict | undefined {
  const e = error as { code?: string; constraint?: string; message?: string }
  const isKeyVersion = e.code === '23505' && (e.constraint === 'outbox_key_version' || /outbox_key_version/.test(e.message ?? ''))
  if (!isKeyVersion) return undefined
  const first = envelopes.find((x) => x.version !== undefined)
  return new VersionConflict(first?.key ?? '?', first?.version ?? 0)
}
