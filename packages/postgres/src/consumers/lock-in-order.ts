import type { Queryable } from '../database/database'

/** Transaction-scoped advisory locks on `keys`, taken in one sorted order by every transaction (unnest yields the array in order). */
export async function lockInOrder(tx: Queryable, keys: readonly string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort()
  if (sorted.length > 0) await tx.query('SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k', [sorted])
}
