import { createPool, type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise'
import { isConnectionLost, isLockConflict, viewDatabaseError } from './mariadb-errors'
import { newestPerOrderAndSource, OWNED_COLUMNS, ownedValues, type ConsumerTransaction, type OrderStatusChange, type OrderStatusStore, type OrderStatusView } from './order-status'

export interface MariaDbStoreOptions {
  /** The view's table; default `order_status`. */
  table?: string
  /** Attempts at a transaction that InnoDB makes a deadlock's victim or times out on a lock; default 10. */
  attempts?: number
  /** The sessions' `innodb_lock_wait_timeout`, in seconds; default the server's. */
  lockWaitTimeoutSeconds?: number
}

/**
 * The order-status view on MariaDB (`VIEW_DATABASE_URL=mysql://…`). It cannot join the consumer's
 * PostgreSQL transaction, so exactly-once comes from the version guards instead of the inbox: a change
 * applied again (after a crash between this commit and the consumer's checkpoint) changes nothing.
 * Per source, one `INSERT … ON DUPLICATE KEY UPDATE` whose every assignment is guarded by that source's
 * version; the version column is assigned last, because MariaDB evaluates assignments left to right.
 *
 * Failures of MariaDB itself — a lost, killed or refused connection, a server going away, a deadlock or
 * lock wait still failing after `attempts` — are `ViewDatabaseUnavailable` (kind `unavailable`): the
 * consumer retries them without limit and never dead-letters a message for them.
 *
 * A rebuild's `clear` and an `apply` cannot interleave badly. Each runs in one MariaDB transaction at
 * REPEATABLE READ (whatever the server's default): `clear`'s `DELETE` takes next-key locks on the whole
 * table, so it waits for an apply in flight and deletes all of it, and an apply that comes later waits for
 * it and is kept whole. (Not `TRUNCATE`: it commits implicitly, before the rebuild's own transaction, and
 * needs the DROP privilege.) And each commits only once the consumer's transaction has answered after
 * its writes: a rebuild seizes the consumer's lease, which waits for the page transactions that hold it,
 * so `clear` comes after the commit of an apply whose page transaction answered — or, were that
 * transaction lost just after answering, its `DELETE` waits for the apply's row locks and deletes it all —
 * while an apply whose page transaction is gone (fenced off, perhaps cleared since) rolls back instead of
 * landing behind the `clear`. A rebuild whose transaction is lost after `clear` committed leaves the view
 * emptier than its checkpoints: the rebuild failed, and running it again replays everything.
 */
export class MariaDbOrderStatusStore implements OrderStatusStore {
  private constructor(
    private readonly pool: Pool,
    private readonly table: string,
    private readonly attempts: number,
  ) {}

  static async open(url: string, options: MariaDbStoreOptions = {}): Promise<MariaDbOrderStatusStore> {
    const table = options.table ?? 'order_status'
    if (!/^[a-z_][a-z0-9_]{0,63}$/.test(table)) throw new Error(`Not a table name: ${table}`)
    const { attempts = 10, lockWaitTimeoutSeconds } = options
    if (!Number.isInteger(attempts) || attempts < 1) throw new Error(`attempts must be a positive integer, not ${attempts}`)
    if (lockWaitTimeoutSeconds !== undefined && !(Number.isInteger(lockWaitTimeoutSeconds) && lockWaitTimeoutSeconds >= 1)) {
      throw new Error(`lockWaitTimeoutSeconds must be a positive integer, not ${lockWaitTimeoutSeconds}`)
    }
    const pool = createPool({ uri: url, connectionLimit: 8, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true })
    // Every new session, before anything else runs on it (a connection handles its commands in order).
    // mysql2 hands this listener its callback-style connection, whatever its promise typings say.
    const session = ['SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ']
    if (lockWaitTimeoutSeconds !== undefined) session.push(`SET SESSION innodb_lock_wait_timeout = ${lockWaitTimeoutSeconds}`)
    pool.on('connection', (connection) => {
      const callbacks = connection as unknown as { query(sql: string, done: (error: unknown) => void): void }
      for (const sql of session) callbacks.query(sql, () => {})
    })
    try {
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           order_id CHAR(36) PRIMARY KEY,
           order_version INT NULL, customer_id VARCHAR(64) NULL, total BIGINT NULL, order_status VARCHAR(32) NULL, shipping_address TEXT NULL,
           payment_version INT NULL, payment_status VARCHAR(32) NULL,
           delivery_version INT NULL, delivery_status VARCHAR(32) NULL,
           updated_at DATETIME(3) NOT NULL,
           KEY order_status_by_customer (customer_id, order_id)
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      )
    } catch (error) {
      await pool.end().catch(() => {})
      throw viewDatabaseError('open', error)
    }
    return new MariaDbOrderStatusStore(pool, table, attempts)
  }

  async apply(tx: ConsumerTransaction, changes: readonly OrderStatusChange[]): Promise<void> {
    const newest = newestPerOrderAndSource(changes).sort((a, b) => a.orderId.localeCompare(b.orderId))
    if (newest.length === 0) return
    await this.transaction('apply', tx, async (connection) => {
      for (const source of ['order', 'payment', 'delivery'] as const) {
        const mine = newest.filter((c) => c.source === source)
        if (mine.length > 0) await this.upsert(connection, source, mine)
      }
    })
  }

  /**
   * Runs `work` in a MariaDB transaction of its own, made again while InnoDB picks it as a deadlock's
   * victim or times out its lock wait (up to `attempts`), and committed only once the consumer's
   * transaction `tx` has answered after the work (see the class comment). What the consumer's transaction
   * throws is thrown as it is; MariaDB's failures as `viewDatabaseError` classes them.
   */
  private async transaction(operation: string, tx: ConsumerTransaction, work: (connection: PoolConnection) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let connection: PoolConnection | undefined
      let consumerFailed = false
      let lost = false
      try {
        connection = await this.pool.getConnection()
        await connection.beginTransaction()
        await work(connection)
        await tx.query('SELECT 1').catch((error: unknown) => {
          consumerFailed = true
          throw error
        })
        await connection.commit()
        return
      } catch (error) {
        lost = !consumerFailed && isConnectionLost(error)
        if (!lost) await connection?.rollback().catch(() => {})
        if (consumerFailed) throw error
        if (!isLockConflict(error) || attempt >= this.attempts) throw viewDatabaseError(operation, error)
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt))
      } finally {
        // A connection that failed for good is not handed out again.
        if (lost) connection?.destroy()
        else connection?.release()
      }
    }
  }

  private async upsert(connection: PoolConnection, source: keyof typeof OWNED_COLUMNS, changes: OrderStatusChange[]): Promise<void> {
    const { version, columns } = OWNED_COLUMNS[source]
    const newer = `(${version} IS NULL OR ${version} < VALUES(${version}))`
    const rows = changes.map((c) => [c.orderId, c.version, toDatetime(c.at), ...ownedValues(c)])
    await connection.query(
      `INSERT INTO ${this.table} (order_id, ${version}, updated_at, ${columns.join(', ')}) VALUES ?
       ON DUPLICATE KEY UPDATE ${columns.map((col) => `${col} = IF(${newer}, VALUES(${col}), ${col})`).join(', ')},
         updated_at = GREATEST(updated_at, VALUES(updated_at)),
         ${version} = IF(${newer}, VALUES(${version}), ${version})`,
      [rows],
    )
  }

  async get(orderId: string): Promise<OrderStatusView | undefined> {
    const rows = await this.select('get', `SELECT ${SELECT} FROM ${this.table} WHERE order_id = ?`, [orderId])
    return rows[0] && toView(rows[0])
  }

  async byCustomer(customerId: string, limit = 100): Promise<OrderStatusView[]> {
    const rows = await this.select('byCustomer', `SELECT ${SELECT} FROM ${this.table} WHERE customer_id = ? ORDER BY order_id DESC LIMIT ?`, [customerId, limit])
    return rows.map(toView)
  }

  /** Empties the view for a rebuild, in a transaction that an apply cannot interleave with (see the class comment). */
  async clear(tx: ConsumerTransaction): Promise<void> {
    await this.transaction('clear', tx, async (connection) => {
      await connection.query(`DELETE FROM ${this.table}`)
    })
  }

  private async select(operation: string, sql: string, params: unknown[]): Promise<RowDataPacket[]> {
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>(sql, params)
      return rows
    } catch (error) {
      throw viewDatabaseError(operation, error)
    }
  }

  /** Drops a view table (tests clean up with it). */
  async drop(table: string): Promise<void> {
    if (!/^[a-z_][a-z0-9_]{0,63}$/.test(table)) throw new Error(`Not a table name: ${table}`)
    await this.pool.query(`DROP TABLE IF EXISTS ${table}`)
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

const SELECT = 'order_id, customer_id, total, order_status, payment_status, delivery_status, shipping_address, updated_at'

/** ISO-8601 to MariaDB's DATETIME(3), in UTC. */
const toDatetime = (iso: string): string => iso.replace('T', ' ').replace('Z', '')

function toView(row: RowDataPacket): OrderStatusView {
  return {
    orderId: row.order_id as string,
    customerId: row.customer_id as string | null,
    total: row.total === null ? null : Number(row.total),
    orderStatus: row.order_status as OrderStatusView['orderStatus'],
    paymentStatus: row.payment_status as OrderStatusView['paymentStatus'],
    deliveryStatus: row.delivery_status as OrderStatusView['deliveryStatus'],
    shippingAddress: row.shipping_address as string | null,
    updatedAt: `${String(row.updated_at).replace(' ', 'T')}Z`,
  }
}
