/**
 * Where one collection of documents lives in Redis. Every key starts with `<prefix>:{<collection>}`: the
 * braces are a hash tag, so all keys of a collection share one cluster slot and a script may touch any of
 * them (a collection is never spread over shards; different collections may be).
 *
 * - `…:doc:<id>`       hash, one per document: `f:<field>` → the field's JSON, `v:<source>` → that source's
 *                       last version, `at` → when it last changed (ms), `removed` → '1' on a tombstone
 * - `…:ids`            sorted set (all scores 0, so ordered by id, bytewise) of the live documents
 * - `…:having:<field>` sorted set like `ids`, of the live documents that have that top-level field
 * - `…:fields`         set of the fields that have a `having` set (so `clear` can find them)
 * - `…:removed`        set of the tombstoned ids (so `clear` can find them)
 */
export class DocumentKeys {
  readonly base: string
  readonly ids: string
  readonly fields: string
  readonly removed: string
  /** `doc(id)` is this followed by the id; scripts that find documents by id build their keys with it. */
  readonly docPrefix: string
  /** `having(field)` is this followed by the field. */
  readonly havingPrefix: string

  constructor(prefix: string, collection: string) {
    if (prefix.length === 0) throw new RangeError('prefix must not be empty')
    // A brace in the name would move the hash tag: keys of one collection could land in different slots.
    if (collection.length === 0 || /[{}]/.test(collection)) throw new RangeError(`not a collection name: ${JSON.stringify(collection)}`)
    this.base = `${prefix}:{${collection}}`
    this.ids = `${this.base}:ids`
    this.fields = `${this.base}:fields`
    this.removed = `${this.base}:removed`
    this.docPrefix = `${this.base}:doc:`
    this.havingPrefix = `${this.base}:having:`
  }

  doc(id: string): string {
    return this.docPrefix + id
  }

  having(field: string): string {
    return this.havingPrefix + field
  }
}
