import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import { newestPerOrderAndSource, OWNED_COLUMNS, ownedValues, type ConsumerTransaction, type OrderStatusChange, type OrderStatusStore, type OrderStatusView } from './order-status'

interface Row {
  order_id: string
  customer_id: string | null
  total: string | null
  order_status: OrderStatusView['orderStatus']
  payment_status: OrderStatusView['paymentStatus']
  delivery_status: OrderStatusView['deliveryStatus']
  shipping_address: string | null
  updated_at: Date | string
}

/**
 * The order-status view on PostgreSQL or PGlite, in the consumer's own schema and transaction (so the
 * inbox makes it exactly-once). Per source, one `INSERT … SELECT FROM unnest … ON CONFLICT DO UPDATE` that
 * sets only that source's columns, only where its version is newer.
 */
export class PgOrderStatusStore implements OrderStatusStore {
  private readonly table: string

  constructor(
    private readonly db: Queryable,
    schema: string,
  ) {
    this.table = `${schemaName(schema)}.order_status`
  }

  async apply(tx: ConsumerTransaction, changes: readonly OrderStatusChange[]): Promise<void> {
    const newest = newestPerOrderAndSource(changes)
    for (const source of ['order', 'payment', 'delivery'] as const) {
      const mine = newest.filter((c) => c.source === source)
      if (mine.length > 0) await this.upsert(tx, source, mine)
    }
  }

  private async upsert(tx: ConsumerTransaction, source: keyof typeof OWNED_COLUMNS, changes: OrderStatusChange[]): Promise<void> {
    const { version, columns } = OWNED_COLUMNS[source]
    const types = source === 'order' ? ['text', 'bigint', 'text', 'text'] : ['text']
    const params: unknown[] = [changes.map((c) => c.orderId), changes.map((c) => c.version), changes.map((c) => c.at)]
    columns.forEach((_, i) => params.push(changes.map((c) => ownedValues(c)[i])))
    const unnest = ['$1::uuid[]', '$2::int[]', '$3::timestamptz[]', ...types.map((t, i) => `$${i + 4}::${t}[]`)].join(', ')
    await tx.query(
      `INSERT INTO ${this.table} AS v (order_id, ${version}, updated_at, ${columns.join(', ')})
       SELECT * FROM unnest(${unnest})
       ON CONFLICT (order_id) DO UPDATE SET ${columns.map((col) => `${col} = excluded.${col}`).join(', ')},
         ${version} = excluded.${version}, updated_at = greatest(v.updated_at, excluded.updated_at)
       WHERE v.${version} IS NULL OR v.${version} < excluded.${version}`,
      params,
    )
  }

  async get(orderId: string): Promise<OrderStatusView | undefined> {
    const result = await this.db.query<Row>(`SELECT ${SELECT} FROM ${this.table} WHERE order_id = $1`, [orderId])
    return result.rows[0] && toView(result.rows[0])
  }

  async byCustomer(customerId: string, limit = 100): Promise<OrderStatusView[]> {
    const result = await this.db.query<Row>(`SELECT ${SELECT} FROM ${this.table} WHERE customer_id = $1 ORDER BY order_id DESC LIMIT $2`, [customerId, limit])
    return result.rows.map(toView)
  }

  async clear(tx: ConsumerTransaction): Promise<void> {
    await tx.query(`DELETE FROM ${this.table}`)
  }
}

const SELECT = 'order_id, customer_id, total::text AS total, order_status, payment_status, delivery_status, shipping_address, updated_at'

function toView(row: Row): OrderStatusView {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    total: row.total === null ? null : Number(row.total),
    orderStatus: row.order_status,
    paymentStatus: row.payment_status,
    deliveryStatus: row.delivery_status,
    shippingAddress: row.shipping_address,
    updatedAt: isoTime(row.updated_at),
  }
}

export const orderStatusMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'order status',
    up: (s) => `
      CREATE TABLE ${s}.order_status (
        order_id uuid PRIMARY KEY,
        order_version int, customer_id text, total bigint, order_status text, shipping_address text,
        payment_version int, payment_status text,
        delivery_version int, delivery_status text,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX order_status_by_customer ON ${s}.order_status (customer_id, order_id DESC)`,
  },
]
