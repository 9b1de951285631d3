import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Database } from '@tidings/postgres'

/** The PGlite release the platform package resolves (it is that package's dependency, not ours). */
export function pgliteVersion(): string {
  try {
    const require = createRequire(fileURLToPath(import.meta.resolve('@tidings/postgres')))
    let dir = dirname(require.resolve('@electric-sql/pglite'))
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
        if (pkg.name === '@electric-sql/pglite') return pkg.version ?? '?'
      } catch {
        // no package.json at this level
      }
    }
  } catch {
    // fall through
  }
  return '?'
}

export async function serverVersion(db: Database): Promise<string> {
  const result = await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)
  const settings = await db.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'max_connections') ORDER BY name`,
  )
  return `PostgreSQL ${result.rows[0]!.v} (${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')})`
}
