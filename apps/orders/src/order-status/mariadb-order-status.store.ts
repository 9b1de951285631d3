import { createPool, type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise'
import { newestPerOrderAndSource, OWNED_COLUMNS, ownedValues, type ConsumerTransaction, type OrderStatusChange, type OrderStatusStore, type OrderStatusView } from './order-status'

/** InnoDB picks a victim when upserts of several sources cross; the attempt is simply made again. */
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])
const ATTEMPTS = 10

/**
 * The order-status view on MariaDB (`VIEW_DATABASE_URL=mysql://…`). It cannot join the consumer's
 * PostgreSQL transaction, so exactly-once comes from the version guards instead of the inbox: a change
 * applied again (after a crash between this commit and the consumer's checkpoint) changes nothing.
 * Per source, one `INSERT … ON DUPLICATE KEY UPDATE` whose every assignment is guarded by that source's
 * version; the version column is assigned last, because MariaDB evaluates assignments left to right.
 */
export class MariaDbOrderStatusStore implements OrderStatusStore {
  private constructor(
    private readonly pool: Pool,
    private readonly table: string,
  ) {}

  static async open(url: string, options: { table?: string } = {}): Promise<MariaDbOrderStatusStore> {
    const pool = createPool({ uri: url, connectionLimit: 8, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true })
    const table = options.table ?? 'order_status'
    if (!/^[a-z_][a-z0-9_]{0,63}$/.test(table)) throw new Error(`Not a table name: ${table}`)
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
    return new MariaDbOrderStatusStore(pool, table)
  }

  async apply(_tx: ConsumerTransaction, changes: readonly OrderStatusChange[]): Promise<void> {
    const newest = newestPerOrderAndSource(changes).sort((a, b) => a.orderId.localeCompare(b.orderId))
    if (newest.length === 0) return
    for (let attempt = 1; ; attempt++) {
      const connection = await this.pool.getConnection()
      try {
        await connection.beginTransaction()
        for (const source of ['order', 'payment', 'delivery'] as const) {
          const mine = newest.filter((c) => c.source === source)
          if (mine.length > 0) await this.upsert(connection, source, mine)
        }
        await connection.commit()
        return
      } catch (error) {
        await connection.rollback().catch(() => {})
        if (!RETRYABLE.has((error as { code?: string }).code ?? '') || attempt >= ATTEMPTS) throw error
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt))
      } finally {
        connection.release()
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
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT ${SELECT} FROM ${this.table} WHERE order_id = ?`, [orderId])
    return rows[0] && toView(rows[0])
  }

  async byCustomer(customerId: string, limit = 100): Promise<OrderStatusView[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT ${SELECT} FROM ${this.table} WHERE customer_id = ? ORDER BY order_id DESC LIMIT ?`, [customerId, limit])
    return rows.map(toView)
  }

  async clear(): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.table}`)
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
