import type { Documents, FindOptions, MergeChange, StoredDocument } from '@tidings/core'
import type { DocumentLink } from './document-connection'
import { fieldsOf, pairsOf, storableName, storableVersion, storedDocument } from './document-fields'
import { DocumentKeys } from './document-keys'
import { attempt } from '../redis-errors'

/** Changes per MERGE script: one round trip each, and a short script. */
const MERGE_CHUNK = 100
/** Ids a FIND_STEP script walks at most, so that a filter that skips most documents never blocks Redis for long. */
const FIND_BUDGET = 1_000
/** Ids per ZRANGE page of idsHaving, and per LACKING script. */
const ID_PAGE = 5_000
/** Live documents and tombstones deleted per CLEAR_STEP script. */
const CLEAR_BATCH = 500

type FindStepReply = [docs: Array<[id: string, hash: string[]]>, last: string, exhausted: number]

/**
 * The `Documents` port on Redis (layout in `DocumentKeys`, scripts in `document-scripts.ts`).
 *
 * A Redis write is not part of the consumer's PostgreSQL transaction: a crash between the two makes the
 * consumer apply the same messages again. Every write is therefore one Lua script that checks the source's
 * version and writes in one atomic step: a replayed or late change is refused, whichever process sends it,
 * so a read model converges however often its feeds are replayed — including into an empty Redis, which is
 * how one is rebuilt.
 *
 * Costs (n live documents in the collection, f fields in a change or document):
 * - merge, remove: O(f log n); mergeMany: that per change, in scripts of 100 changes
 * - get: O(f); count: O(1); has / lacking: O(1) per id
 * - idsHaving: O(log n + k) for k ids, from the field's own sorted set
 * - find without a filter: O(log n + limit · f); with `having`, walks that field's set instead of all ids
 * - find with a filter: walks ids in order until `limit` documents matched, testing the filter's fields
 *   only; worst case O(n) (a filter nothing matches), in scripts that each walk at most 1,000 ids, so Redis
 *   serves others in between (PostgreSQL has a GIN index for this; Redis has no index on values)
 * - clear: O(n · f), in scripts of 500 documents
 * A find that spans several scripts is not a snapshot: writes between them may or may not show.
 */
export class RedisDocumentStore<D extends object = Record<string, unknown>> implements Documents<D> {
  private readonly keys: DocumentKeys

  constructor(
    private readonly redis: DocumentLink,
    prefix: string,
    readonly collection: string,
  ) {
    this.keys = new DocumentKeys(prefix, collection)
  }

  async merge(id: string, change: MergeChange<D>): Promise<boolean> {
    return (await this.mergeMany([{ ...change, id }])) === 1
  }

  async mergeMany(changes: ReadonlyArray<MergeChange<D> & { id: string }>): Promise<number> {
    // Every change is checked before any is sent: an unstorable one fails the call with nothing written.
    const encoded = changes.map((change) => this.encode(change))
    let applied = 0
    for (let start = 0; start < encoded.length; start += MERGE_CHUNK) {
      const chunk = encoded.slice(start, start + MERGE_CHUNK)
      const keys = [this.keys.ids, this.keys.fields, ...chunk.flatMap((c) => c.keys)]
      const args = chunk.flatMap((c) => c.args)
      applied += await attempt(`merge into ${this.keys.base}`, () => this.redis.tidingsDocumentsMerge(keys.length, ...keys, ...args))
    }
    return applied
  }

  async remove(id: string, change: { source: string; version: number }): Promise<boolean> {
    const where = `Document ${this.collection}/${id}`
    const { keys } = this
    const args = [storableName(id, where), storableName(change.source, where), storableVersion(change.version, where), keys.havingPrefix] as const
    const removed = await attempt(`remove from ${keys.base}`, () => this.redis.tidingsDocumentsRemove(keys.doc(id), keys.ids, keys.removed, keys.fields, ...args))
    return removed === 1
  }

  async get(id: string): Promise<StoredDocument<D> | undefined> {
    const hash = await attempt(`get from ${this.keys.base}`, () => this.redis.hgetall(this.keys.doc(id)))
    return storedDocument<D>(id, Object.entries(hash))
  }

  async find(where: Partial<D> = {}, options: FindOptions = {}): Promise<StoredDocument<D>[]> {
    const limit = options.limit ?? 100
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, not ${limit}`)
    const descending = options.order === 'desc'
    const walk = options.having === undefined ? this.keys.ids : this.keys.having(options.having)
    const filter = fieldsOf(where, `Filter on ${this.collection}`).flat()
    // Exclusive lexicographic bounds, narrowed to the last id walked after every step.
    let low = options.afterId === undefined ? '-' : `(${options.afterId}`
    let high = options.beforeId === undefined ? '+' : `(${options.beforeId}`
    const found: StoredDocument<D>[] = []
    while (found.length < limit) {
      const [from, to] = descending ? [high, low] : [low, high]
      const args = [this.keys.docPrefix, descending ? '1' : '0', from, to, limit - found.length, FIND_BUDGET, ...filter] as const
      const [docs, last, exhausted] = (await attempt(`find in ${this.keys.base}`, () => this.redis.tidingsDocumentsFindStep(walk, ...args))) as FindStepReply
      for (const [id, hash] of docs) {
        const document = storedDocument<D>(id, pairsOf(hash))
        if (document) found.push(document)
      }
      if (exhausted === 1) break
      if (descending) high = `(${last}`
      else low = `(${last}`
    }
    return found
  }

  async idsHaving(field: string): Promise<string[]> {
    const key = this.keys.having(field)
    const ids: string[] = []
    for (let from = '-'; ; ) {
      const page = await attempt(`ids in ${key}`, () => this.redis.zrangebylex(key, from, '+', 'LIMIT', 0, ID_PAGE))
      ids.push(...page)
      if (page.length < ID_PAGE) return ids
      from = `(${page.at(-1)!}`
    }
  }

  async has(id: string, field: string): Promise<boolean> {
    return (await this.lacking([id], field)).length === 0
  }

  async lacking(ids: readonly string[], field: string): Promise<string[]> {
    const lacking: string[] = []
    for (let start = 0; start < ids.length; start += ID_PAGE) {
      const chunk = ids.slice(start, start + ID_PAGE)
      const docs = chunk.map((id) => this.keys.doc(id))
      const positions = await attempt(`lacking in ${this.keys.base}`, () => this.redis.tidingsDocumentsLacking(docs.length, ...docs, field))
      for (const position of positions) lacking.push(chunk[position - 1]!)
    }
    return lacking
  }

  async count(): Promise<number> {
    return attempt(`count of ${this.keys.base}`, () => this.redis.zcard(this.keys.ids))
  }

  /** Deletes every document, tombstone and index of the collection, a batch per script; other collections stay. */
  async clear(): Promise<void> {
    const { keys } = this
    for (;;) {
      const left = await attempt(`clear ${keys.base}`, () => this.redis.tidingsDocumentsClearStep(keys.ids, keys.removed, keys.fields, keys.docPrefix, keys.havingPrefix, CLEAR_BATCH))
      if (left === 0) return
    }
  }

  /** One change as the MERGE script takes it: its keys (document, then a having set per field) and arguments. */
  private encode(change: MergeChange<D> & { id: string }): { keys: string[]; args: string[] } {
    const where = `Document ${this.collection}/${change.id}`
    const fields = fieldsOf(change.set, where)
    return {
      keys: [this.keys.doc(storableName(change.id, where)), ...fields.map(([name]) => this.keys.having(name))],
      args: [change.id, storableName(change.source, where), storableVersion(change.version, where), String(fields.length), ...fields.flat()],
    }
  }
}
