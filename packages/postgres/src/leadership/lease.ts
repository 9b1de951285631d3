import type { Queryable } from '../database/database'
import { schemaName } from '../database/sql'

/**
 * A named lease in the consumer's database: at most one owner at a time, renewed by heartbeat, free to
 * take once it has expired. Work done under a lease also checks it inside its own transaction (see
 * `holdsLease`), so an owner that stalled past expiry cannot write after another took over.
 *
 * A transaction that works under the lease **pins** it (`pinKey`, a shared advisory lock, held until it
 * ends) and checks that the lease is still its own at any point after that; a takeover takes the pin
 * exclusively, so it waits for (`seize`) or skips (`acquire`) such a transaction and never commits while
 * one runs. Not a row lock: a transaction gets its id at its first row lock or write, and from then until
 * it ends it holds back every feed's horizon (`pg_snapshot_xmin`); a pin lets a page do its reads first.
 */
export class Lease {
  private readonly s: string
  /** The advisory lock key that pins this lease: shared by the work under it, exclusive for a takeover. */
  readonly pinKey: string

  constructor(
    private readonly db: Queryable,
    schema: string,
    readonly name: string,
    readonly owner: string,
    readonly ttlMs: number,
  ) {
    this.s = schemaName(schema)
    this.pinKey = `tidings.lease:${this.s}.${name}`
  }

  /**
   * Takes the lease if it is free or expired, renews it if already ours; true when we hold it. An expired
   * lease whose owner is still in a transaction pinning it is not taken now (the next call tries again).
   */
  async acquire(): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO ${this.s}.leases (name, owner, expires_at, acquired_at)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond', clock_timestamp())
       ON CONFLICT (name) DO UPDATE
         SET owner = excluded.owner, expires_at = excluded.expires_at,
             acquired_at = CASE WHEN ${this.s}.leases.owner = excluded.owner THEN ${this.s}.leases.acquired_at ELSE excluded.acquired_at END
         WHERE CASE WHEN ${this.s}.leases.owner = excluded.owner THEN true
                    WHEN ${this.s}.leases.expires_at < clock_timestamp() THEN pg_try_advisory_xact_lock(hashtextextended($4, 0))
                    ELSE false END
       RETURNING owner`,
      [this.name, this.owner, this.ttlMs, this.pinKey],
    )
    return result.rowCount > 0
  }

  /**
   * Extends the lease only if it is still ours. Unlike `acquire`, it never takes the lease back after someone
   * else held it (or a rebuild seized it): a leader that lost it must step down and re-read its checkpoints.
   */
  async renew(): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE ${this.s}.leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE name = $1 AND owner = $2 RETURNING owner`,
      [this.name, this.owner, this.ttlMs],
    )
    return result.rowCount > 0
  }

  /** Inside a transaction: takes the lease from whoever holds it (waits for the transactions that pin it). */
  async seize(tx: Queryable): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [this.pinKey])
    await tx.query(
      `INSERT INTO ${this.s}.leases (name, owner, expires_at, acquired_at)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond', clock_timestamp())
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at`,
      [this.name, this.owner, this.ttlMs],
    )
  }

  async release(): Promise<void> {
    await this.db.query(`DELETE FROM ${this.s}.leases WHERE name = $1 AND owner = $2`, [this.name, this.owner])
  }

  /**
   * Inside a transaction: pins the lease, then tells whether we still hold it. A would-be successor waits
   * for our commit (or skips the lease for now) instead of overlapping with it.
   */
  async holdsLease(tx: Queryable): Promise<boolean> {
    await tx.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [this.pinKey])
    const result = await tx.query(`SELECT ${this.ownedNow(1)} AS held`, [this.name, this.owner])
    return result.rows[0]?.held === true
  }

  /**
   * An expression that is true while we hold the lease, as read by its statement; `$n` and `$n+1` take the
   * name and the owner. It means something only in a transaction that pinned the lease before.
   */
  ownedNow(n: number): string {
    return `EXISTS (${this.ownRow(n)})`
  }

  /**
   * A query with one row while we hold the lease, share-locking it until its statement's transaction ends
   * (for a single statement that writes under the lease); `$n` and `$n+1` take the name and the owner.
   */
  heldQuery(n: number): string {
    return `${this.ownRow(n)} FOR SHARE`
  }

  /** Our lease's row, while it is ours and unexpired; `$n` and `$n+1` take the name and the owner. */
  private ownRow(n: number): string {
    return `SELECT 1 FROM ${this.s}.leases WHERE name = $${n} AND owner = $${n + 1} AND expires_at > clock_timestamp()`
  }
}

export async function currentLeaseOwner(db: Queryable, schema: string, name: string): Promise<string | undefined> {
  const result = await db.query<{ owner: string }>(
    `SELECT owner FROM ${schemaName(schema)}.leases WHERE name = $1 AND expires_at > clock_timestamp()`,
    [name],
  )
  return result.rows[0]?.owner
}
