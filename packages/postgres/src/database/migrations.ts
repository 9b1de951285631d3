import type { Database } from './database'
import { schemaName } from './sql'

export interface Migration {
  version: number
  name: string
  /** The SQL for one schema; `s` is the quoted schema name to prefix every table with. */
  up: (s: string) => string
}

/**
 * Applies a named set of versioned migrations to one schema, each in its own transaction, exactly once.
 * Concurrent starters of the same service wait on an advisory lock instead of racing.
 */
export async function migrate(db: Database, schema: string, set: string, migrations: readonly Migration[]): Promise<void> {
  const s = schemaName(schema)
  const lock = `tidings.migrate.${schema}`
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock])
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         set_name text NOT NULL, version int NOT NULL, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (set_name, version))`,
    )
  })
  const ordered = [...migrations].sort((a, b) => a.version - b.version)
  for (const migration of ordered) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock])
      const done = await tx.query('SELECT 1 FROM ' + s + '.schema_migrations WHERE set_name = $1 AND version = $2', [
        set,
        migration.version,
      ])
      if (done.rowCount > 0) return
      for (const statement of splitStatements(migration.up(s))) await tx.query(statement)
      await tx.query(`INSERT INTO ${s}.schema_migrations (set_name, version, name) VALUES ($1, $2, $3)`, [
        set,
        migration.version,
        migration.name,
      ])
    })
  }
}

/** Extended-protocol queries take one statement each; migrations separate theirs with a blank-line-free `;` at line end. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
}
