import { mkdirSync } from 'node:fs'
import type { Database } from './database'
import { PgDatabase } from './pg-database'
import { PgliteDatabase } from './pglite-database'

export interface DatabaseConfig {
  /** A PostgreSQL server; when absent the embedded PGlite is used. */
  databaseUrl?: string
  /** Where PGlite keeps its files; `memory` (or absent) keeps everything in memory. */
  dataDir?: string
  maxConnections?: number
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.databaseUrl) {
    return new PgDatabase({ connectionString: config.databaseUrl, maxConnections: config.maxConnections })
  }
  if (!config.dataDir || config.dataDir === 'memory') return PgliteDatabase.open()
  mkdirSync(config.dataDir, { recursive: true })
  return PgliteDatabase.open({ dataDir: config.dataDir })
}
