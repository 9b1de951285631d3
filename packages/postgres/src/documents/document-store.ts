import type { Documents, FindOptions, MergeChange, StoredDocument } from '@tidings/core'
import type { Queryable } from '../database/database'
import { schemaName, storableJson } from '../database/sql'

interface DocumentRow {
  id: string
  body: unknown
  versions: Record<string, number>
  updated_at: Date | string
}

/**
 * JSONB read models. `merge` is one statement (INSERT … ON CONFLICT DO UPDATE), so concurrent first events
 * from several sources never collide on a key; it sets only the given top-level fields and only when the
 * source's version is newer than the one the document last saw from that source. A removed document keeps
 * a tombstone so that a late event cannot bring it back.
 */
export class DocumentStore<D extends object = Record<string, unknown>> {
  private readonly table: string

  constructor(
    schema: string,
    readonly collection: string,
  ) {
    this.table = `${schemaName(schema)}.documents`
  }

  /** True when the change was applied, false when an equal or newer version was already there. */
  async merge(tx: Queryable, id: string, change: MergeChange<D>): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO ${this.table} AS d (collection, id, body, versions, updated_at)
       VALUES ($1, $2, $3::jsonb, jsonb_build_object($4::text, $5::bigint), now())
       ON CONFLICT (collection, id) DO UPDATE
         SET body = CASE WHEN d.deleted THEN d.body ELSE d.body || excluded.body END,
             versions = d.versions || excluded.versions,
             updated_at = excluded.updated_at
         WHERE COALESCE((d.versions ->> $4::text)::bigint, -1) < $5::bigint`,
      [this.collection, id, storableJson(change.set, `Document ${this.collection}/${id}`), change.source, change.version],
    )
    return result.rowCount > 0
  }

  /**
   * Many merges with the same effect as calling `merge` for each in order, in two statements however many
   * changes a document gets (one when none gets two): the documents' versions are read and locked (`FOR UPDATE`), the changes that
   * apply are worked out here (each guarded by its own source's version, as the earlier ones in the list
   * left it), and each document is written once, with all of its changes merged. A document is rewritten
   * once, not once per change (a post's document gets a change per comment and per author). A document
   * that did not exist when read and that another transaction created meanwhile is merged change by change
   * (`mergeInRounds`). Returns how many changes were applied.
   */
  async mergeMany(tx: Queryable, changes: ReadonlyArray<MergeChange<D> & { id: string }>): Promise<number> {
    const ids = [...new Set(changes.map((c) => c.id))]
    // One change per document is one round: one statement.
    if (ids.length === changes.length) return this.mergeInRounds(tx, changes)
    const { rows } = await tx.query<{ id: string; versions: Record<string, number> }>(
      `SELECT id, versions FROM ${this.table} WHERE collection = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE`,
      [this.collection, ids],
    )
    const before = new Map(rows.map((r) => [r.id, r.versions]))
    // Sources and fields are names from outside: kept in maps and prototype-less objects, so that none of
    // them (`toString`, `__proto__`) is taken for something every object has.
    const stored = (id: string, source: string): number => {
      const versions = before.get(id)
      return versions && Object.hasOwn(versions, source) ? Number(versions[source]) : -1
    }
    const merged = new Map<string, { set: Record<string, unknown>; versions: Map<string, number>; applied: number }>()
    for (const change of changes) {
      storableJson(change.set, `Document ${this.collection}/${change.id}`)
      const doc = merged.get(change.id) ?? { set: Object.create(null) as Record<string, unknown>, versions: new Map<string, number>(), applied: 0 }
      if (change.version <= (doc.versions.get(change.source) ?? stored(change.id, change.source))) continue
      Object.assign(doc.set, change.set)
      doc.versions.set(change.source, change.version)
      doc.applied++
      merged.set(change.id, doc)
    }
    if (merged.size === 0) return 0
    // In id order, as the versions were locked: two calls creating the same documents never wait on each other in a cycle.
    const docs = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const written = await tx.query<{ id: string }>(
      `WITH c AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS c(id, body, versions, expected))
       INSERT INTO ${this.table} AS d (collection, id, body, versions, updated_at)
       SELECT $1, c.id, c.body::jsonb, c.versions::jsonb, now() FROM c ORDER BY c.id
       ON CONFLICT (collection, id) DO UPDATE
         SET body = CASE WHEN d.deleted THEN d.body ELSE d.body || excluded.body END,
             versions = d.versions || excluded.versions,
             updated_at = excluded.updated_at
         WHERE d.versions = (SELECT c.expected::jsonb FROM c WHERE c.id = excluded.id)
       RETURNING id`,
      [
        this.collection,
        docs.map(([id]) => id),
        docs.map(([, doc]) => JSON.stringify(doc.set)),
        docs.map(([, doc]) => JSON.stringify(Object.fromEntries(doc.versions))),
        docs.map(([id]) => (before.has(id) ? JSON.stringify(before.get(id)) : null)),
      ],
    )
    const done = new Set(written.rows.map((r) => r.id))
    let applied = 0
    for (const [id, doc] of docs) if (done.has(id)) applied += doc.applied
    const raced = changes.filter((c) => merged.has(c.id) && !done.has(c.id))
    return applied + (raced.length > 0 ? await this.mergeInRounds(tx, raced) : 0)
  }

  /**
   * `mergeMany` in rounds: one statement per round, each round holding at most one change per document (an
   * upsert may not touch a row twice), every change guarded by its own source's version.
   */
  private async mergeInRounds(tx: Queryable, changes: ReadonlyArray<MergeChange<D> & { id: string }>): Promise<number> {
    const rounds: Array<Array<MergeChange<D> & { id: string }>> = []
    const seen = new Map<string, number>()
    for (const change of changes) {
      const round = seen.get(change.id) ?? 0
      seen.set(change.id, round + 1)
      ;(rounds[round] ??= []).push(change)
    }
    let applied = 0
    for (const round of rounds) {
      const result = await tx.query(
        `INSERT INTO ${this.table} AS d (collection, id, body, versions, updated_at)
         SELECT $1, c.id, c.body::jsonb, jsonb_build_object(c.source, c.version), now()
         FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS c(id, body, source, version)
         ON CONFLICT (collection, id) DO UPDATE
           SET body = CASE WHEN d.deleted THEN d.body ELSE d.body || excluded.body END,
               versions = d.versions || excluded.versions,
               updated_at = excluded.updated_at
           WHERE NOT EXISTS (
             SELECT 1 FROM jsonb_each_text(excluded.versions) v WHERE (d.versions ->> v.key)::bigint >= v.value::bigint)`,
        [
          this.collection,
          round.map((c) => c.id),
          round.map((c) => storableJson(c.set, `Document ${this.collection}/${c.id}`)),
          round.map((c) => c.source),
          round.map((c) => c.version),
        ],
      )
      applied += result.rowCount
    }
    return applied
  }

  /** Tombstones the document unless the source already saw a newer version. */
  async remove(tx: Queryable, id: string, change: { source: string; version: number }): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO ${this.table} AS d (collection, id, body, versions, deleted, updated_at)
       VALUES ($1, $2, '{}'::jsonb, jsonb_build_object($3::text, $4::bigint), true, now())
       ON CONFLICT (collection, id) DO UPDATE
         SET body = '{}'::jsonb, deleted = true, versions = d.versions || excluded.versions, updated_at = excluded.updated_at
         WHERE COALESCE((d.versions ->> $3::text)::bigint, -1) < $4::bigint`,
      [this.collection, id, change.source, change.version],
    )
    return result.rowCount > 0
  }

  async get(db: Queryable, id: string): Promise<StoredDocument<D> | undefined> {
    const result = await db.query<DocumentRow>(
      `SELECT id, body, versions, updated_at FROM ${this.table} WHERE collection = $1 AND id = $2 AND NOT deleted`,
      [this.collection, id],
    )
    const row = result.rows[0]
    return row ? toDocument<D>(row) : undefined
  }

  /**
   * Documents whose body contains `where` (JSONB containment) and, with `having`, has that top-level key;
   * ordered by id, ascending (page on with `afterId`) or descending (page on with `beforeId`).
   */
  async find(db: Queryable, where: Partial<D> = {}, options: FindOptions = {}): Promise<StoredDocument<D>[]> {
    const params: unknown[] = [this.collection]
    const conditions = ['collection = $1', 'NOT deleted']
    const add = (condition: (p: string) => string, value: unknown): void => {
      params.push(value)
      conditions.push(condition(`$${params.length}`))
    }
    // Each filter only when asked for, so every statement the planner sees can use the indexes it needs.
    if (Object.keys(where).length > 0) add((p) => `body @> ${p}::jsonb`, JSON.stringify(where))
    if (options.having !== undefined) add((p) => `body ? ${p}::text`, options.having)
    if (options.afterId !== undefined) add((p) => `id > ${p}::text`, options.afterId)
    if (options.beforeId !== undefined) add((p) => `id < ${p}::text`, options.beforeId)
    params.push(options.limit ?? 100)
    const direction = options.order === 'desc' ? 'DESC' : 'ASC'
    const result = await db.query<DocumentRow>(
      `SELECT id, body, versions, updated_at FROM ${this.table}
       WHERE ${conditions.join(' AND ')}
       ORDER BY id ${direction} LIMIT $${params.length}`,
      params,
    )
    return result.rows.map((row) => toDocument<D>(row))
  }

  /** The ids of the collection's documents whose body has the top-level key `field`, ordered by id. */
  async idsHaving(db: Queryable, field: string): Promise<string[]> {
    const result = await db.query<{ id: string }>(
      `SELECT id FROM ${this.table} WHERE collection = $1 AND NOT deleted AND body ? $2::text ORDER BY id`,
      [this.collection, field],
    )
    return result.rows.map((row) => row.id)
  }

  /**
   * Whether the document already has the top-level key `field`. A removed document counts as having it
   * (nothing is added to a tombstone); a document that does not exist yet does not.
   */
  async has(db: Queryable, id: string, field: string): Promise<boolean> {
    return (await this.lacking(db, [id], field)).length === 0
  }

  /** Of these ids, those whose document does not exist or lacks the top-level key `field` (tombstones have it all). */
  async lacking(db: Queryable, ids: readonly string[], field: string): Promise<string[]> {
    const result = await db.query<{ id: string }>(
      `SELECT i.id FROM unnest($2::text[]) AS i(id)
       WHERE NOT EXISTS (SELECT 1 FROM ${this.table} d WHERE d.collection = $1 AND d.id = i.id AND (d.deleted OR d.body ? $3::text))`,
      [this.collection, ids, field],
    )
    return result.rows.map((row) => row.id)
  }

  async count(db: Queryable): Promise<number> {
    const result = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${this.table} WHERE collection = $1 AND NOT deleted`,
      [this.collection],
    )
    return Number(result.rows[0]!.n)
  }

  /** Empties the collection, tombstones included: the first step of a rebuild. */
  async clear(tx: Queryable): Promise<void> {
    await tx.query(`DELETE FROM ${this.table} WHERE collection = $1`, [this.collection])
  }

  /**
   * This collection as the transaction-free `Documents` port, every statement on `db`: a consumer's
   * transaction (its writes then commit or roll back with the inbox and checkpoint) or the database itself.
   */
  on(db: Queryable): Documents<D> {
    return {
      collection: this.collection,
      merge: (id, change) => this.merge(db, id, change),
      mergeMany: (changes) => this.mergeMany(db, changes),
      remove: (id, change) => this.remove(db, id, change),
      get: (id) => this.get(db, id),
      find: (where, options) => this.find(db, where, options),
      idsHaving: (field) => this.idsHaving(db, field),
      has: (id, field) => this.has(db, id, field),
      lacking: (ids, field) => this.lacking(db, ids, field),
      count: () => this.count(db),
      clear: () => this.clear(db),
    }
  }
}

function toDocument<D>(row: DocumentRow): StoredDocument<D> {
  return { id: row.id, body: row.body as D, versions: row.versions, updatedAt: new Date(row.updated_at) }
}
