import { TidingsError } from '@tidings/core'
import { schemaName, type Migration, type Queryable } from '@tidings/postgres'

/** One payment at a time per reservation: the one that holds its claim. */
export const paymentClaimMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'one payment in flight per reservation',
    up: (s) => `CREATE TABLE ${s}.reservation_claims (reservation_id uuid PRIMARY KEY, payment_id text NOT NULL);`,
  },
]

export class PaymentInProgress extends TidingsError {
  constructor(readonly paymentId: string) {
    super('PAYMENT_IN_PROGRESS', 'conflict', `Payment ${paymentId} of this reservation is under way or went through: see GET /api/payments/${paymentId}`)
  }
}

/**
 * Claims the reservation for `paymentId`, in the transaction that starts the payment: refused
 * (`PaymentInProgress`) while an earlier payment of it runs or went through, so that two requests with
 * different keys never both take the money. A payment that ended with nothing kept (its saga COMPENSATED:
 * refused, or refunded) gives the claim up to the next. Two claims at once wait on the row: the second
 * sees the first's outcome.
 */
export async function claimReservation(tx: Queryable, schema: string, reservationId: string, paymentId: string): Promise<void> {
  const s = schemaName(schema)
  const claimed = await tx.query(
    `INSERT INTO ${s}.reservation_claims AS c (reservation_id, payment_id) VALUES ($1, $2)
     ON CONFLICT (reservation_id) DO UPDATE SET payment_id = excluded.payment_id
       WHERE (SELECT status FROM ${s}.sagas WHERE id = c.payment_id) = 'COMPENSATED'`,
    [reservationId, paymentId],
  )
  if (claimed.rowCount > 0) return
  const { rows } = await tx.query<{ payment_id: string }>(`SELECT payment_id FROM ${s}.reservation_claims WHERE reservation_id = $1`, [reservationId])
  throw new PaymentInProgress(rows[0]!.payment_id)
}
