import type { Queryable } from './database'

/** One INSERT, UPDATE or DELETE with its parameters ($1, $2, … of its own), to be sent alone or with others. */
export interface Write {
  sql: string
  params: unknown[]
}

/**
 * Runs writes in one round trip: several become one statement of data-modifying CTEs (`WITH w0 AS (…)
 * … <the last>`), their parameters renumbered. They run on one snapshot and none sees another's rows, so
 * give it only writes that touch different rows (the caller's to ensure). Their SQL must not hold `$n` in
 * a literal.
 */
export async function runWrites(tx: Queryable, writes: readonly Write[]): Promise<void> {
  if (writes.length === 0) return
  const { sql, params } = withWrites(writes.slice(0, -1), writes.at(-1)!)
  await tx.query(sql, params)
}

/**
 * `main` with `writes` before it, as one statement: `WITH w0 AS (…), w1 AS (…) <main>`. Every write runs
 * once and to the end whatever `main` reads; what `main` returns is the statement's result. The writes are
 * named `w0`, `w1`, … in their order, and that is part of the contract: a later write or `main` may read
 * an earlier one's `RETURNING` by that name (a saga's history lines are gated by its row's part, `w0`).
 * The same rules as `runWrites`: different rows, no `$n` in a literal.
 */
export function withWrites(writes: readonly Write[], main: Write): Write {
  if (writes.length === 0) return main
  const params: unknown[] = []
  const renumbered = (write: Write): string => {
    const offset = params.length
    params.push(...write.params)
    return write.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)
  }
  const parts = writes.map((write, i) => `w${i} AS (${renumbered(write)})`)
  return { sql: `WITH ${parts.join(', ')} ${renumbered(main)}`, params }
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
