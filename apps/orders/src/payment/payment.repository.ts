import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import type { Customer, Payment, PaymentStatus } from './payment'

/** Customers' credit, payments (one per order) and the ledger of every credit movement. */
export class PaymentRepository {
  private readonly s: string

  constructor(schema: string) {
    this.s = schemaName(schema)
  }

  async customer(db: Queryable, customerId: string, options: { lock?: boolean } = {}): Promise<Customer | undefined> {
    const result = await db.query<{ credit: string; version: number }>(
      `SELECT credit::text AS credit, version FROM ${this.s}.customers WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [customerId],
    )
    const row = result.rows[0]
    return row && { customerId, credit: Number(row.credit), version: Number(row.version) }
  }

  /**
   * A customer locked for a change, made (with no credit, version 0) if there is none yet: two first
   * top-ups at once then queue on one row instead of both writing version 1.
   */
  async customerForUpdate(tx: Queryable, customerId: string): Promise<Customer> {
    await tx.query(`INSERT INTO ${this.s}.customers (id, credit, version) VALUES ($1, 0, 0) ON CONFLICT (id) DO NOTHING`, [customerId])
    return (await this.customer(tx, customerId, { lock: true }))!
  }

  async saveCustomer(tx: Queryable, customer: Customer): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.customers (id, credit, version) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET credit = excluded.credit, version = excluded.version`,
      [customer.customerId, customer.credit, customer.version],
    )
  }

  async payment(db: Queryable, orderId: string, options: { lock?: boolean } = {}): Promise<Payment | undefined> {
    const result = await db.query<{ customer_id: string; amount: string; status: PaymentStatus; updated_at: Date | string; version: number }>(
      `SELECT customer_id, amount::text AS amount, status, updated_at, version FROM ${this.s}.payments WHERE order_id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [orderId],
    )
    const row = result.rows[0]
    return row && { orderId, customerId: row.customer_id, amount: Number(row.amount), status: row.status, updatedAt: isoTime(row.updated_at), version: Number(row.version) }
  }

  async savePayment(tx: Queryable, payment: Payment): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.payments (order_id, customer_id, amount, status, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, version = excluded.version`,
      [payment.orderId, payment.customerId, payment.amount, payment.status, payment.updatedAt, payment.version],
    )
  }

  /** One row per event that moved credit; the event id is unique, so no movement is booked twice. */
  async book(tx: Queryable, entry: LedgerEntry & { customerId: string }): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.ledger (event_id, customer_id, order_id, kind, amount, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
      [entry.eventId, entry.customerId, entry.orderId, entry.kind, entry.amount, entry.at],
    )
  }

  /** A customer's movements in the order they were booked (event ids are time-ordered), a page after `after`. */
  async ledger(db: Queryable, customerId: string, page: { after?: string | undefined; limit: number }): Promise<LedgerEntry[]> {
    const result = await db.query<{ event_id: string; kind: LedgerEntry['kind']; amount: string; order_id: string | null; at: Date | string }>(
      `SELECT event_id, kind, amount::text AS amount, order_id, at FROM ${this.s}.ledger
        WHERE customer_id = $1 AND ($2::uuid IS NULL OR event_id > $2::uuid) ORDER BY event_id LIMIT $3`,
      [customerId, page.after ?? null, page.limit],
    )
    return result.rows.map((r) => ({ eventId: r.event_id, kind: r.kind, amount: Number(r.amount), orderId: r.order_id, at: isoTime(r.at) }))
  }
}

/** One credit movement: positive for a top-up or a refund, negative for a charge. */
export interface LedgerEntry {
  eventId: string
  kind: 'CREDIT' | 'CHARGE' | 'REFUND'
  amount: number
  orderId: string | null
  at: string
}

export const paymentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'customers, payments and ledger',
    up: (s) => `
      CREATE TABLE ${s}.customers (id text PRIMARY KEY, credit bigint NOT NULL CHECK (credit >= 0), version int NOT NULL);
      CREATE TABLE ${s}.payments (
        order_id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        amount bigint NOT NULL,
        status text NOT NULL,
        updated_at timestamptz NOT NULL,
        version int NOT NULL
      );
      CREATE TABLE ${s}.ledger (
        event_id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        order_id uuid,
        kind text NOT NULL,
        amount bigint NOT NULL,
        at timestamptz NOT NULL
      );
      CREATE INDEX ledger_by_customer ON ${s}.ledger (customer_id, at)`,
  },
]
