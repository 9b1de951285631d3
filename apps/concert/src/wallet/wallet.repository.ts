import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import type { Movement, MovementType, Wallet } from './wallet'

/** One line of a member's ledger: a movement as the wallet's event recorded it. */
export interface LedgerEntry {
  entryId: string
  /** Its number in the member's ledger: the wallet's version after it (1, 2, …, no gaps). */
  version: number
  type: MovementType
  amount: number
  balanceAfter: number
  reference: string | null
  at: string
}

/** Wallets and their ledgers, in the wallet service's schema. */
export class WalletRepository {
  private readonly s: string

  constructor(schema: string) {
    this.s = schemaName(schema)
  }

  async wallet(db: Queryable, memberId: string): Promise<Wallet | undefined> {
    const { rows } = await db.query<{ balance: string; version: number }>(`SELECT balance::text AS balance, version FROM ${this.s}.wallets WHERE member_id = $1`, [memberId])
    const row = rows[0]
    return row && { memberId, balance: Number(row.balance), version: Number(row.version) }
  }

  /**
   * The member's wallet locked for a change, made empty first if there is none: two first charges at once
   * then queue on one row instead of both writing version 1.
   */
  async walletForUpdate(tx: Queryable, memberId: string): Promise<Wallet> {
    await tx.query(`INSERT INTO ${this.s}.wallets (member_id, balance, version) VALUES ($1, 0, 0) ON CONFLICT (member_id) DO NOTHING`, [memberId])
    const { rows } = await tx.query<{ balance: string; version: number }>(`SELECT balance::text AS balance, version FROM ${this.s}.wallets WHERE member_id = $1 FOR UPDATE`, [memberId])
    return { memberId, balance: Number(rows[0]!.balance), version: Number(rows[0]!.version) }
  }

  async save(tx: Queryable, wallet: Wallet): Promise<void> {
    await tx.query(`UPDATE ${this.s}.wallets SET balance = $2, version = $3 WHERE member_id = $1`, [wallet.memberId, wallet.balance, wallet.version])
  }

  /**
   * Books a movement, numbered by the wallet's version after it: a second booking of a number (or of an
   * event) fails, and the balance's transaction with it.
   */
  async book(tx: Queryable, entryId: string, movement: Movement, at: string): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.ledger (entry_id, member_id, version, type, amount, balance_after, reference, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [entryId, movement.memberId, movement.version, movement.type, movement.amount, movement.balanceAfter, movement.reference, at],
    )
  }

  /** What the ledger says of a payment: the amount it took (positive), and whether it was given back. */
  async payment(tx: Queryable, memberId: string, paymentId: string): Promise<{ taken: number | undefined; refunded: boolean }> {
    const { rows } = await tx.query<{ type: MovementType; amount: string }>(
      `SELECT type, amount::text AS amount FROM ${this.s}.ledger WHERE member_id = $1 AND reference = $2`,
      [memberId, paymentId],
    )
    const taken = rows.find((r) => r.type === 'PAYMENT')
    return { taken: taken && -Number(taken.amount), refunded: rows.some((r) => r.type === 'REFUND') }
  }

  /**
   * Remembers that a payment was given up before it took anything: if its debit comes after all (late, or
   * replayed from the dead letters), it is refused. True the first time.
   */
  async voidPayment(tx: Queryable, paymentId: string): Promise<boolean> {
    return (await tx.query(`INSERT INTO ${this.s}.voided_payments (payment_id) VALUES ($1) ON CONFLICT DO NOTHING`, [paymentId])).rowCount > 0
  }

  async paymentVoided(tx: Queryable, paymentId: string): Promise<boolean> {
    return (await tx.query(`SELECT 1 FROM ${this.s}.voided_payments WHERE payment_id = $1`, [paymentId])).rowCount > 0
  }

  /** A page of the member's ledger, oldest first (by number, whatever the clocks said), after the number `after`. */
  async ledger(db: Queryable, memberId: string, page: { after?: number | undefined; limit: number }): Promise<LedgerEntry[]> {
    const { rows } = await db.query<{ entry_id: string; version: number; type: MovementType; amount: string; balance_after: string; reference: string | null; at: Date | string }>(
      `SELECT entry_id, version, type, amount::text AS amount, balance_after::text AS balance_after, reference, at FROM ${this.s}.ledger
       WHERE member_id = $1 AND version > $2 ORDER BY version LIMIT $3`,
      [memberId, page.after ?? 0, page.limit],
    )
    return rows.map((r) => ({
      entryId: r.entry_id,
      version: Number(r.version),
      type: r.type,
      amount: Number(r.amount),
      balanceAfter: Number(r.balance_after),
      reference: r.reference,
      at: isoTime(r.at),
    }))
  }
}

export const walletMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'wallets and ledger',
    up: (s) => `
      CREATE TABLE ${s}.wallets (member_id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0), version int NOT NULL);
      CREATE TABLE ${s}.ledger (
        entry_id uuid PRIMARY KEY,
        member_id text NOT NULL,
        version int NOT NULL,
        type text NOT NULL CHECK (type IN ('CHARGE', 'PAYMENT', 'REFUND')),
        amount bigint NOT NULL CHECK ((type = 'PAYMENT') = (amount < 0) AND amount <> 0),
        balance_after bigint NOT NULL CHECK (balance_after >= 0),
        reference text,
        at timestamptz NOT NULL,
        UNIQUE (member_id, version)
      );
      -- A payment is taken once and given back once: a second booking fails (the payment saga looks first).
      CREATE UNIQUE INDEX ledger_once_per_payment ON ${s}.ledger (member_id, reference, type) WHERE reference IS NOT NULL;`,
  },
  {
    version: 2,
    name: 'payments given up before they took anything',
    up: (s) => `CREATE TABLE ${s}.voided_payments (payment_id text PRIMARY KEY);`,
  },
]
