import { isoTime, runWrites, schemaName, valuesList, type Migration, type Queryable, type Write } from '@tidings/postgres'
import { PaymentMarks } from '../payment-marks'
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

/** A movement to book: its event's id, the movement it carries and when it was recorded. */
export interface Booking {
  entryId: string
  movement: Movement
  at: string
}

/** What the ledger says of a member's payment: the amount it took (positive), and whether it was given back. */
export interface PaymentEntries {
  taken: number | undefined
  refunded: boolean
}

/** Wallets and their ledgers, in the wallet service's schema. */
export class WalletRepository {
  private readonly s: string
  /** Payments given up before they took anything: if a debit of one comes after all, it is refused. */
  readonly voided: PaymentMarks

  constructor(schema: string) {
    this.s = schemaName(schema)
    this.voided = new PaymentMarks(schema, 'voided_payments')
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

  /** The wallets of these members that exist, locked for a change, in one statement (in one order, so two pages never wait on each other). */
  async walletsForUpdate(tx: Queryable, memberIds: readonly string[]): Promise<Wallet[]> {
    const { rows } = await tx.query<{ member_id: string; balance: string; version: number }>(
      `SELECT member_id, balance::text AS balance, version FROM ${this.s}.wallets WHERE member_id = ANY($1::text[]) ORDER BY member_id FOR UPDATE`,
      [memberIds],
    )
    return rows.map((r) => ({ memberId: r.member_id, balance: Number(r.balance), version: Number(r.version) }))
  }

  async save(tx: Queryable, wallet: Wallet): Promise<void> {
    await runWrites(tx, this.saving([wallet]))
  }

  /** The write that stores these wallets (locked, one each): to send with others (`runWrites`). */
  saving(wallets: readonly Wallet[]): Write[] {
    if (wallets.length === 0) return []
    const values = valuesList(
      wallets.map((w) => [w.memberId, w.balance, w.version]),
      ['', 'bigint', 'int'],
    )
    return [{ sql: `UPDATE ${this.s}.wallets AS w SET balance = v.balance, version = v.version FROM (VALUES ${values.sql}) AS v(member_id, balance, version) WHERE w.member_id = v.member_id`, params: values.params }]
  }

  /**
   * The write that books movements, each numbered by the wallet's version after it: a second booking of a
   * number (or of an event) fails, and the balance's transaction with it.
   */
  booking(bookings: readonly Booking[]): Write[] {
    if (bookings.length === 0) return []
    const values = valuesList(
      bookings.map(({ entryId, movement: m, at }) => [entryId, m.memberId, m.version, m.type, m.amount, m.balanceAfter, m.reference, at]),
      ['uuid', '', 'int', '', 'bigint', 'bigint', '', 'timestamptz'],
    )
    return [{ sql: `INSERT INTO ${this.s}.ledger (entry_id, member_id, version, type, amount, balance_after, reference, at) VALUES ${values.sql}`, params: values.params }]
  }

  /**
   * What the ledger says of these members' payments, in one statement: keyed by `paymentKey`; a payment
   * the ledger does not know is absent.
   */
  async payments(tx: Queryable, memberIds: readonly string[], paymentIds: readonly string[]): Promise<Map<string, PaymentEntries>> {
    const { rows } = await tx.query<{ member_id: string; reference: string; type: MovementType; amount: string }>(
      `SELECT member_id, reference, type, amount::text AS amount FROM ${this.s}.ledger WHERE member_id = ANY($1::text[]) AND reference = ANY($2::text[])`,
      [memberIds, paymentIds],
    )
    const payments = new Map<string, PaymentEntries>()
    for (const r of rows) {
      const key = paymentKey(r.member_id, r.reference)
      const entries = payments.get(key) ?? { taken: undefined, refunded: false }
      if (r.type === 'PAYMENT') entries.taken = -Number(r.amount)
      if (r.type === 'REFUND') entries.refunded = true
      payments.set(key, entries)
    }
    return payments
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

/** A member's payment, as `payments` keys it. */
export const paymentKey = (memberId: string, paymentId: string): string => `${memberId}\u0000${paymentId}`

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
