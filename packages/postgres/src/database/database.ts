/** Rows come back as plain objects; 64-bit integers are selected `::text` so both engines agree on their type. */
export interface QueryResult<R> {
  rows: R[]
  rowCount: number
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>
}

/**
 * The one SQL port: PostgreSQL servers through `pg`, or an embedded PGlite instance. Everything above it
 * (outbox, feed, inbox, documents, scheduler) is written once against this interface.
 */
export interface Database extends Queryable {
  readonly engine: 'pglite' | 'postgres'
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
  /** Delivers NOTIFY payloads sent by other processes; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>
  notify(channel: string, payload: string): Promise<void>
  close(): Promise<void>
}
