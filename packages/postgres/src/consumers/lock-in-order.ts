import type { Queryable } from '../database/database'

/**
 * Transaction-scoped advisory locks on `keys`, taken in one sorted order by every transaction (unnest yields
 * the array in order), after the `shared` ones (e.g. a lease's pin), in one statement.
 */
export async function lockInOrder(tx: Queryable, keys: readonly string[], shared: readonly string[] = []): Promise<void> {
  const sorted = [...new Set(keys)].sort()
  if (sorted.length === 0 && shared.length === 0) return
  await tx.query(
    `SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k
     UNION ALL SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($2::text[]) AS k`,
    [shared, sorted],
  )
}
