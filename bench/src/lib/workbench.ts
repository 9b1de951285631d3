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
  private readonly databases: string[] = []
  private readonly closers: (() => Promise<void>)[] = []
  private readonly processes: (() => Promise<void>)[] = []
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

  /**
   * A new, empty database on the server, for code with fixed schema names (a whole app); dropped at the
   * end. Returns its connection URL.
   */
  async serverDatabase(prefix: string): Promise<string> {
    const name = `bench_${process.pid}_${prefix}_${++this.counter}_${Date.now().toString(36)}`
    this.databases.push(name)
    await this.admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(DATABASE_URL)
    url.pathname = `/${name}`
    return url.toString()
  }

  /** Drops a database of `serverDatabase` early (it must have no other sessions left). */
  async dropDatabase(url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1)
    const index = this.databases.indexOf(name)
    if (index < 0) return
    this.databases.splice(index, 1)
    await this.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }

  /** Something to stop first at the end, e.g. a server process (`stop` must be idempotent). */
  adopt(stop: () => Promise<void>): void {
    this.processes.push(stop)
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
    for (const stop of this.processes.splice(0).reverse()) await stop().catch(() => {})
    const admin = this.adminDb
    if (admin) {
      for (const database of this.databases.splice(0)) {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((error: unknown) => {
          console.error(`could not drop database ${database}:`, error)
        })
      }
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
