import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import type { Order, OrderItem, OrderStatus } from './order'

interface OrderRow {
  id: string
  customer_id: string
  items: OrderItem[]
  total: string
  shipping_address: string
  status: OrderStatus
  placed_at: Date | string
  updated_at: Date | string
  version: number
}

/** Orders on the command side, one row each. */
export class OrderRepository {
  private readonly table: string

  constructor(schema: string) {
    this.table = `${schemaName(schema)}.orders`
  }

  async byId(db: Queryable, orderId: string, options: { lock?: boolean } = {}): Promise<Order | undefined> {
    const result = await db.query<OrderRow>(
      `SELECT id, customer_id, items, total::text AS total, shipping_address, status, placed_at, updated_at, version FROM ${this.table} WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [orderId],
    )
    const row = result.rows[0]
    return (
      row && {
        orderId: row.id,
        customerId: row.customer_id,
        items: row.items,
        total: Number(row.total),
        shippingAddress: row.shipping_address,
        status: row.status,
        placedAt: isoTime(row.placed_at),
        updatedAt: isoTime(row.updated_at),
        version: Number(row.version),
      }
    )
  }

  async save(tx: Queryable, order: Order): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.table} (id, customer_id, items, total, shipping_address, status, placed_at, updated_at, version)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET shipping_address = excluded.shipping_address, status = excluded.status,
         updated_at = excluded.updated_at, version = excluded.version`,
      [order.orderId, order.customerId, JSON.stringify(order.items), order.total, order.shippingAddress, order.status, order.placedAt, order.updatedAt, order.version],
    )
  }
}

export const orderMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'orders',
    up: (s) => `
      CREATE TABLE ${s}.orders (
        id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        items jsonb NOT NULL,
        total bigint NOT NULL,
        shipping_address text NOT NULL,
        status text NOT NULL,
        placed_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version int NOT NULL
      )`,
  },
]
