/**
 * Read-model documents, whatever keeps them: JSONB rows in the consumer's own transaction
 * (`DocumentStore.on(tx)` in @tidings/postgres) or a store that cannot join that transaction (Redis).
 *
 * A document is an object whose top-level fields each belong to one source (`post`, `comment:42`, …) and
 * are only ever written under that source's version. Every write is therefore idempotent and order-safe
 * on its own: an event applied twice, or an older event applied after a newer one, changes nothing. That
 * is what lets a store outside the consumer's transaction stay correct when a crash between its write and
 * the consumer's commit makes the consumer apply the same page again, and what lets a read model be
 * rebuilt by replaying the feeds into an empty store.
 */

export interface MergeChange<D> {
  /** The source that owns the fields being set, e.g. 'post' or 'comment:42'; versions are tracked per source. */
  source: string
  /** Applied only when newer than every version of this source the document has seen. */
  version: number
  /** Top-level fields to set; the others keep their values. */
  set: Partial<D>
}

export interface StoredDocument<D> {
  id: string
  body: D
  /** The last version applied from each source, removals included. */
  versions: Record<string, number>
  updatedAt: Date
}

export interface FindOptions {
  /** At most this many documents (default 100). */
  limit?: number
  /** By id: 'asc' (default) or 'desc'. */
  order?: 'asc' | 'desc'
  /** Only ids after this one: the next page in ascending order. */
  afterId?: string
  /** Only ids before this one: the next page in descending order. */
  beforeId?: string
  /** Only documents whose body has this top-level key (a key set to null counts). */
  having?: string
}

/**
 * One collection of documents. Removed documents stay as tombstones: they are never returned, counted or
 * listed, and no later event brings them back (a source that has not removed them may still record its
 * version, but sets nothing).
 */
export interface Documents<D extends object = Record<string, unknown>> {
  readonly collection: string

  /** Sets the change's fields. True when it was applied, false when an equal or newer version of its source was already there. */
  merge(id: string, change: MergeChange<D>): Promise<boolean>

  /** The same effect as `merge` for each change in order, in fewer round trips. Returns how many were applied. */
  mergeMany(changes: ReadonlyArray<MergeChange<D> & { id: string }>): Promise<number>

  /** Tombstones the document unless the source already saw an equal or newer version; true when it did. */
  remove(id: string, change: { source: string; version: number }): Promise<boolean>

  /** The live document, undefined when it never existed or was removed. */
  get(id: string): Promise<StoredDocument<D> | undefined>

  /**
   * Live documents whose body contains `where` (JSON containment, as PostgreSQL's `@>`: objects by subset,
   * arrays by elements in any order) and, with `having`, that have that top-level key; ordered by id.
   */
  find(where?: Partial<D>, options?: FindOptions): Promise<StoredDocument<D>[]>

  /** The ids of the live documents that have the top-level key `field`, ordered by id. */
  idsHaving(field: string): Promise<string[]>

  /**
   * Whether the document already has the top-level key `field`. A removed document counts as having it
   * (nothing is added to a tombstone); a document that does not exist yet does not.
   */
  has(id: string, field: string): Promise<boolean>

  /** Of these ids, in the order given, those whose document does not exist or lacks `field` (tombstones have it all). */
  lacking(ids: readonly string[], field: string): Promise<string[]>

  /** How many live documents the collection holds. */
  count(): Promise<number>

  /** Empties the collection, tombstones included: the first step of a rebuild. */
  clear(): Promise<void>
}
