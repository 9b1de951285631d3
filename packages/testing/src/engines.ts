import pg from 'pg'
import { afterAll } from 'vitest'
import { migrate, platformMigrations, PgDatabase, PgliteDatabase, type Database } from '@tidings/postgres'
import { pgliteTemplate } from './pglite-template'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TestEngine {
  name: 'pglite' | 'postgres'
  /** The file's shared database for this engine; tests isolate themselves with fresh schemas. */
  db(): Promise<Database>
  /** A new, migrated schema with a unique name. */
  freshSchema(prefix?: string): Promise<string>
  /** A second connection to the same database, as another process would have (PGlite: the same instance). */
  connect(): Promise<Database>
  /**
   * A database of its own, for code with fixed schema names (a whole app): a new PGlite instance, or a
   * new PostgreSQL database (with its URL, for processes) dropped when the file ends.
   */
  freshDatabase(): Promise<{ db: Database; url?: string }>
}

let reported = false

/**
 * The engines every SQL test runs on: embedded PGlite always, PostgreSQL when a server answers. In CI
 * (CI=true) a missing server fails the run instead of skipping.
 */
export async function testEngines(): Promise<TestEngine[]> {
  const engines = [pgliteEngine()]
  if (await postgresReachable()) engines.push(postgresEngine())
  else if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but ${TEST_DATABASE_URL} did not answer`)
  else if (!reported) {
    reported = true
    console.warn(`[tidings] SKIPPED PostgreSQL suites: no server at ${TEST_DATABASE_URL}`)
  }
  return engines
}

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

let counter = 0
export function uniqueName(prefix = 't'): string {
  counter++
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
}

function engineWith(name: TestEngine['name'], open: (url?: string) => Promise<Database>): TestEngine {
  let shared: Promise<Database> | undefined
  const extra: Database[] = []
  const schemas: string[] = []
  const databases: string[] = []
  afterAll(async () => {
    for (const other of extra.splice(0)) await other.close().catch(() => {})
    if (databases.length > 0) {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await admin.connect()
      for (const database of databases) await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {})
      await admin.end()
    }
    if (!shared) return
    const db = await shared
    if (name === 'postgres') {
      for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
    }
    for (const other of extra) await other.close()
    await db.close()
  })
  const engine: TestEngine = {
    name,
    db: () => (shared ??= open()),
    async freshSchema(prefix = 't') {
      const schema = uniqueName(prefix)
      schemas.push(schema)
      await migrate(await engine.db(), schema, 'tidings', platformMigrations)
      return schema
    },
    async connect() {
      if (name === 'pglite') return engine.db()
      const db = await open()
      extra.push(db)
      return db
    },
    async freshDatabase() {
      if (name === 'pglite') {
        const db = await open()
        extra.push(db)
        return { db }
      }
      const database = uniqueName('db')
      databases.push(database)
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await admin.connect()
      await admin.query(`CREATE DATABASE "${database}"`).finally(() => admin.end())
      const url = databaseUrl(database)
      const db = await open(url)
      extra.push(db)
      return { db, url }
    },
  }
  return engine
}

function pgliteEngine(): TestEngine {
  return engineWith('pglite', () => PgliteDatabase.open({ loadDataDir: pgliteTemplate() }))
}

function postgresEngine(): TestEngine {
  return engineWith('postgres', async (url = TEST_DATABASE_URL) => new PgDatabase({ connectionString: url, maxConnections: 8 }))
}

/** The test server's URL with another database name. */
export function databaseUrl(database: string): string {
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${database}`
  return url.toString()
}
