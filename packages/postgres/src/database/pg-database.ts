import pg from 'pg'
import type { Database, Queryable, QueryResult } from './database'

export interface PgDatabaseOptions {
  connectionString: string
  maxConnections?: number
  applicationName?: string
}

/** PostgreSQL servers through a `pg` pool; LISTEN runs on one dedicated connection that reconnects. */
export class PgDatabase implements Database {
  readonly engine = 'postgres'
  private readonly pool: pg.Pool
  private listener?: Promise<pg.Client>
  private notifier?: Promise<pg.Client>
  private notifying: Promise<void> = Promise.resolve()
  private readonly channels = new Map<string, Set<(payload: string) => void>>()
  private readonly statementNames = new Map<string, string>()
  private closed = false

  constructor(private readonly options: PgDatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'tidings',
    })
    // A server restart surfaces as an error on idle clients; the pool replaces them, nothing to do here.
    this.pool.on('error', () => {})
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const result = await this.pool.query(this.statement(sql, params))
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
  }

  /**
   * Statements with parameters run as named prepared statements: each connection parses and plans them
   * once, which is most of the cost of the short statements a command is made of.
   */
  private statement(text: string, params: readonly unknown[]): pg.QueryConfig {
    if (params.length === 0) return { text }
    let name = this.statementNames.get(text)
    if (!name) {
      name = `tidings_${this.statementNames.size + 1}`
      this.statementNames.set(text, name)
    }
    return { name, text, values: params as unknown[] }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    let broken = false
    // The pool listens for errors on idle clients only: a connection lost while the work holds it between
    // statements (terminated, timed out idle in transaction, a failover) would emit an 'error' nobody
    // handles, which ends the process. The work's next statement fails instead, and the client is dropped.
    const lost = () => {
      broken = true
    }
    client.on('error', lost)
    try {
      await client.query('BEGIN')
      const tx: Queryable = {
        query: async <R>(sql: string, params: readonly unknown[] = []) => {
          const result = await client.query(this.statement(sql, params))
          return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
        },
      }
      const value = await work(tx)
      // On a transaction that already failed (an error the work caught), COMMIT answers ROLLBACK, no error.
      const commit = await client.query('COMMIT')
      if (commit.command === 'ROLLBACK') throw new Error('Transaction was rolled back instead of committed')
      return value
    } catch (error) {
      try {
        await client.query('ROLLBACK')
      } catch {
        broken = true
      }
      throw error
    } finally {
      client.removeListener('error', lost)
      client.release(broken)
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    let handlers = this.channels.get(channel)
    if (!handlers) {
      handlers = new Set()
      this.channels.set(channel, handlers)
      try {
        const client = await this.listenerClient()
        await client.query(`LISTEN ${quoteChannel(channel)}`)
      } catch (error) {
        this.channels.delete(channel)
        throw error
      }
    }
    handlers.add(onPayload)
    return async () => {
      handlers.delete(onPayload)
    }
  }

  /**
   * On a connection of its own, so that notifications never wait for (or take) a pooled connection; one at
   * a time (a client runs one query at a time: pg 9 will refuse a second one sent meanwhile).
   */
  notify(channel: string, payload: string): Promise<void> {
    const sent = this.notifying.then(() => this.sendNotify(channel, payload))
    this.notifying = sent.catch(() => {})
    return sent
  }

  private async sendNotify(channel: string, payload: string): Promise<void> {
    this.notifier ??= this.connectNotifier()
    const notifier = this.notifier
    try {
      await (await notifier).query('SELECT pg_notify($1, $2)', [channel, payload])
    } catch (error) {
      if (this.notifier === notifier) this.notifier = undefined
      void notifier.then((c) => c.end()).catch(() => {})
      throw error
    }
  }

  private async connectNotifier(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.connectionString, application_name: 'tidings-notify' })
    client.on('error', () => {})
    await client.connect()
    return client
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const listener = this.listener
    const notifier = this.notifier
    this.listener = undefined
    this.notifier = undefined
    if (listener) await listener.then((c) => c.end()).catch(() => {})
    if (notifier) await notifier.then((c) => c.end()).catch(() => {})
    await this.pool.end()
  }

  private listenerClient(): Promise<pg.Client> {
    if (!this.listener) {
      const attempt = this.connectListener()
      this.listener = attempt
      // A failed first connection is forgotten, so that the next listen() tries again.
      attempt.catch(() => {
        if (this.listener === attempt) this.listener = undefined
      })
    }
    return this.listener
  }

  private async connectListener(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.connectionString })
    client.on('notification', (n) => {
      for (const handler of this.channels.get(n.channel) ?? []) handler(n.payload ?? '')
    })
    client.on('error', () => this.reconnectListener(client))
    client.on('end', () => this.reconnectListener(client))
    await client.connect()
    for (const channel of this.channels.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`)
    return client
  }

  /** Lost notifications are harmless: subscribers also poll. Reconnect in the background until it works. */
  private reconnectListener(dead: pg.Client): void {
    if (this.closed || !this.listener) return
    const current = this.listener
    void current.then((client) => {
      if (client !== dead || this.closed) return
      const retry = async (): Promise<pg.Client> => {
        for (;;) {
          try {
            return await this.connectListener()
          } catch {
            await new Promise((r) => setTimeout(r, 1000))
            if (this.closed) throw new Error('closed')
          }
        }
      }
      this.listener = retry()
      this.listener.catch(() => {})
    }, () => {}) // a listener that never connected (or a retry ended by close): nothing to replace
  }
}

function quoteChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`Not a valid channel name: ${channel}`)
  return channel
}
