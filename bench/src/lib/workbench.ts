import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { migrate, platformMigrations, PgDatabase, PgliteDatabase, schemaName, type Database } from '@tidings/postgres'
import { DATABASE_URL } from './env'
import { benchMigrations } from './workload'

/**
 * Owns everything a run opens: fresh schemas on the server (dropped at the end), pools, clients and the
 * PGlite instance with its temporary directory. `close` undoes all of it, also after a crash.
 */
export class Workbench {
  private readonly schemas: string[] = []
  private readonly closers: (() => Promise<void>)[] = []
  private counter = 0
  private adminDb?: PgDatabase

  get admin(): PgDatabase {
    this.adminDb ??= this.track(new PgDatabase({ connectionString: DATABASE_URL, maxConnections: 2, applicationName: 'tidings-bench' }))
    return this.adminDb
  }

  /** A new schema on the server with the platform's tables and the bench's own. */
  async serverSchema(prefix: string): Promise<string> {
    const schema = `bench_${process.pid}_${prefix}_${++this.counter}`
    this.schemas.push(schema)
    await prepareSchema(this.admin, schema)
    return schema
  }

  /** The same on a PGlite database (its directory is deleted at the end, schemas with it). */
  async embeddedSchema(db: Database, prefix: string): Promise<string> {
    const schema = `bench_${prefix}_${++this.counter}`
    await prepareSchema(db, schema)
    return schema
  }

  pool(maxConnections: number, applicationName = 'tidings-bench'): PgDatabase {
    return this.track(new PgDatabase({ connectionString: DATABASE_URL, maxConnections, applicationName }))
  }

  async clients(count: number): Promise<pg.Client[]> {
    const clients = Array.from({ length: count }, () => new pg.Client({ connectionString: DATABASE_URL, application_name: 'tidings-bench-raw' }))
    for (const client of clients) {
      client.on('error', () => {})
      this.closers.push(() => client.end().catch(() => {}))
    }
    await Promise.all(clients.map((c) => c.connect()))
    return clients
  }

  /** The embedded default: one PGlite instance on disk (like `./data`), here in a temporary directory. */
  async pglite(): Promise<PgliteDatabase> {
    const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-'))
    this.closers.push(() => rm(dir, { recursive: true, force: true }))
    return this.track(await PgliteDatabase.open({ dataDir: dir }))
  }

  /** Closes early what a figure no longer needs (idempotent: close is called again at the end). */
  async release(db: Database): Promise<void> {
    await db.close()
  }

  async close(): Promise<void> {
    const admin = this.adminDb
    if (admin) {
      for (const schema of this.schemas.splice(0)) {
        await admin.query(`DROP SCHEMA IF EXISTS ${schemaName(schema)} CASCADE`).catch((error: unknown) => {
          console.error(`could not drop schema ${schema}:`, error)
        })
      }
    }
    // Reverse order: the admin pool opened first closes last, temporary directories go after their databases.
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => {})
  }

  private track<D extends Database>(db: D): D {
    this.closers.push(() => db.close())
    return db
  }
}

async function prepareSchema(db: Database, schema: string): Promise<void> {
  await migrate(db, schema, 'tidings', platformMigrations)
  await migrate(db, schema, 'bench', benchMigrations)
}
