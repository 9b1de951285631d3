import type { Database, Queryable } from './database'

type Last = (q: Queryable) => Promise<unknown>

/**
 * A transaction that begins with its first statement. A unit of work whose only statement is its last
 * one (a command's row and its events as one statement) then needs neither BEGIN nor COMMIT: a single
 * statement is atomic on its own, so it goes alone — one round trip instead of three. Any statement
 * before it begins the transaction as usual, so what the work reads (and locks) is read in it.
 */
export class LazyTransaction implements Queryable {
  private opened: Promise<Queryable> | undefined
  private ended: Promise<unknown> | undefined
  private end: (last: Last | { error: unknown }) => void = () => {}
  /** Set by `commit` and `rollback`: a statement sent after them would begin a transaction nobody ends. */
  private over = false

  constructor(private readonly db: Database) {}

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
    if (this.over) return Promise.reject(new Error('This transaction has ended (committed or rolled back): no statement may be sent on it now'))
    return this.begin().then((tx) => tx.query<R>(sql, params))
  }

  /**
   * Ends it with `last`: alone on the database when nothing was sent before and `last` is one statement
   * (`oneStatement`), else as the transaction's last work before its COMMIT. Resolves to what `last` did.
   */
  async commit<R>(last: (q: Queryable) => Promise<R>, options: { oneStatement: boolean }): Promise<R> {
    this.over = true
    if (this.opened === undefined && options.oneStatement) return last(this.db)
    await this.begin()
    this.end(last)
    return (await this.ended) as R
  }

  /** Rolls back what was sent, if anything; never throws (the caller has the error that made it roll back). */
  async rollback(error: unknown): Promise<void> {
    this.over = true
    if (this.opened === undefined) return
    this.end({ error })
    await this.ended!.catch(() => {})
  }

  private begin(): Promise<Queryable> {
    this.opened ??= new Promise<Queryable>((resolve, reject) => {
      const last = new Promise<Last>((then, fail) => {
        this.end = (ending) => (typeof ending === 'function' ? then(ending) : fail(ending.error))
      })
      // Awaited by the transaction's work; when BEGIN failed there is none, and the rollback's rejection of
      // it must not go unhandled (that would end the process).
      last.catch(() => {})
      this.ended = this.db.transaction(async (tx) => {
        resolve(tx)
        return (await last)(tx)
      })
      // A BEGIN that failed fails the statement that asked for it.
      this.ended.catch(reject)
    })
    return this.opened
  }
}
