import { schemaName, type Queryable, type Write } from '@tidings/postgres'

/**
 * Payments a participant of the payment saga gave up on (the wallet's voided debits, the concert service's
 * withdrawn confirmations), one row each in a table `(payment_id text PRIMARY KEY)` of its schema: that
 * payment's command, should it still come (late, or replayed from the dead letters), is refused. A page of
 * commands reads its payments' marks in one statement and writes the new ones with its other changes.
 */
export class PaymentMarks {
  private readonly table: string

  constructor(schema: string, table: string) {
    this.table = `${schemaName(schema)}.${table}`
  }

  async read(tx: Queryable, paymentIds: readonly string[]): Promise<MarkedPayments> {
    const { rows } = await tx.query<{ payment_id: string }>(`SELECT payment_id FROM ${this.table} WHERE payment_id = ANY($1::text[])`, [paymentIds])
    return new MarkedPayments(rows.map((r) => r.payment_id))
  }

  /** The write that adds the marks `marked` made: to send with others (`runWrites`). */
  writing(marked: MarkedPayments): Write[] {
    const added = marked.added()
    return added.length === 0 ? [] : [{ sql: `INSERT INTO ${this.table} (payment_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, params: [added] }]
  }
}

/** Marks as a page read them, and those it made since. */
export class MarkedPayments {
  private readonly marked: Set<string>
  private readonly fresh = new Set<string>()

  constructor(marked: Iterable<string> = []) {
    this.marked = new Set(marked)
  }

  has(paymentId: string): boolean {
    return this.marked.has(paymentId)
  }

  mark(paymentId: string): void {
    if (!this.marked.has(paymentId)) this.fresh.add(paymentId)
    this.marked.add(paymentId)
  }

  added(): string[] {
    return [...this.fresh]
  }
}
