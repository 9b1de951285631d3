import type { Queryable } from './database'

/** One INSERT, UPDATE or DELETE with its parameters ($1, $2, … of its own), to be sent alone or with others. */
export interface Write {
  sql: string
  params: unknown[]
}

/**
 * Runs writes in one round trip: several become one statement of data-modifying CTEs (`WITH w0 AS (…),
 * w1 AS (…) SELECT 1`), their parameters renumbered. They run on one snapshot and none sees another's
 * rows, so give it only writes that touch different rows (the caller's to ensure). Their SQL must not hold
 * `$n` in a literal.
 */
export async function runWrites(tx: Queryable, writes: readonly Write[]): Promise<void> {
  if (writes.length === 0) return
  if (writes.length === 1) {
    await tx.query(writes[0]!.sql, writes[0]!.params)
    return
  }
  const params: unknown[] = []
  const parts = writes.map((write, i) => {
    const offset = params.length
    params.push(...write.params)
    return `w${i} AS (${write.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`
  })
  await tx.query(`WITH ${parts.join(', ')} SELECT 1`, params)
}

/**
 * A VALUES list of these rows, each column cast to its type in `types` ('' for none), with parameters
 * from $1: for `INSERT … VALUES` and `UPDATE … FROM (VALUES …)`. Not `unnest(…)` of arrays, which
 * PostgreSQL plans several times slower for a few rows: it halved a saga runner's timers per second.
 */
export function valuesList(rows: ReadonlyArray<readonly unknown[]>, types: readonly string[]): Write {
  const width = types.length
  const sql = rows.map((_, r) => `(${types.map((type, c) => `$${r * width + c + 1}${type ? `::${type}` : ''}`).join(', ')})`).join(', ')
  return { sql, params: rows.flat() }
}
