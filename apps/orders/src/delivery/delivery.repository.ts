import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import type { Delivery, DeliveryStatus, KnownOrder } from './delivery'

/** Deliveries, and what the delivery service knows of each order from the order feed. */
export class DeliveryRepository {
  private readonly s: string

  constructor(schema: string) {
    this.s = schemaName(schema)
  }

  async byOrder(db: Queryable, orderId: string, options: { lock?: boolean } = {}): Promise<Delivery | undefined> {
    const result = await db.query<{ address: string | null; status: DeliveryStatus; updated_at: Date | string; version: number }>(
      `SELECT address, status, updated_at, version FROM ${this.s}.deliveries WHERE order_id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [orderId],
    )
    const row = result.rows[0]
    return row && { orderId, address: row.address, status: row.status, updatedAt: isoTime(row.updated_at), version: Number(row.version) }
  }

  async save(tx: Queryable, delivery: Delivery): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.deliveries (order_id, address, status, updated_at, version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (order_id) DO UPDATE SET address = excluded.address, status = excluded.status, updated_at = excluded.updated_at, version = excluded.version`,
      [delivery.orderId, delivery.address, delivery.status, delivery.updatedAt, delivery.version],
    )
  }

  async knownOrder(db: Queryable, orderId: string): Promise<KnownOrder | undefined> {
    const result = await db.query<{ address: string; canceled: boolean; version: number }>(`SELECT address, canceled, version FROM ${this.s}.known_orders WHERE order_id = $1`, [orderId])
    const row = result.rows[0]
    return row && { orderId, address: row.address, canceled: row.canceled, version: Number(row.version) }
  }

  /** Keeps the newest version of what the order feed said; false when an equal or newer one is there. */
  async learn(tx: Queryable, order: KnownOrder): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO ${this.s}.known_orders AS k (order_id, address, canceled, version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (order_id) DO UPDATE SET address = excluded.address, canceled = excluded.canceled, version = excluded.version
       WHERE k.version < excluded.version`,
      [order.orderId, order.address, order.canceled, order.version],
    )
    return result.rowCount > 0
  }
}

export const deliveryMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'deliveries and known orders',
    up: (s) => `
      CREATE TABLE ${s}.deliveries (order_id uuid PRIMARY KEY, address text, status text NOT NULL, updated_at timestamptz NOT NULL, version int NOT NULL);
      CREATE TABLE ${s}.known_orders (order_id uuid PRIMARY KEY, address text NOT NULL, canceled boolean NOT NULL, version int NOT NULL)`,
  },
]
