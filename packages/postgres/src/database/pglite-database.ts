import { PGlite, type Transaction } from '@electric-sql/pglite'
import { AsyncMutex } from './async-mutex'
import type { Database, Queryable, QueryResult } from './database'

/**
 * The embedded default: one PGlite instance per process (in a directory or in memory), every service in
 * its own schema. PGlite has a single session, so work is serialised here; NOTIFY is unnecessary within
 * one process (in-process signals wake subscribers) and is a no-op.
 */
export class PgliteDatabase implements Database {
  readonly engine = 'pglite'
  private readonly lock = new AsyncMutex()
  private closed = false

  private constructor(private readonly pg: PGlite) {}

  static async open(options: { dataDir?: string; loadDataDir?: Blob } = {}): Promise<PgliteDatabase> {
    const pg = await PGlite.create({ dataDir: options.dataDir, loadDataDir: options.loadDataDir })
    return new PgliteDatabase(pg)
  }

  /** A copy of this database, far cheaper than a fresh instance: tests clone one template. */
  async clone(): Promise<PgliteDatabase> {
    const copy = await this.lock.run(() => this.pg.clone())
    return new PgliteDatabase(copy as PGlite)
  }

  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return this.lock.run(() => run<R>(this.pg, sql, params))
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.lock.run(() =>
      this.pg.transaction(async (t) => {
        const tx: Queryable = { query: (sql, params = []) => run(t, sql, params) }
        return work(tx)
      }),
    )
  }

  async listen(): Promise<() => Promise<void>> {
    return async () => {}
  }

  async notify(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.lock.run(() => this.pg.close())
  }
}

async function run<R>(target: PGlite | Transaction, sql: string, params: readonly unknown[]): Promise<QueryResult<R>> {
  const result = await target.query<R>(sql, params as unknown[])
  // PGlite counts only written rows in affectedRows; a statement that returns rows counts those, as pg does.
  const returnsRows = result.fields.length > 0
  return { rows: result.rows, rowCount: returnsRows ? result.rows.length : (result.affectedRows ?? 0) }
}
