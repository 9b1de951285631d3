import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import type { Movement, MovementType, Wallet } from './wallet'

/** One line of a member's ledger: a movement as the wallet's event recorded it. */
export interface LedgerEntry {
  entryId: string
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

  /** Books a movement: its event id is the entry's, so an event is never booked twice. */
  async book(tx: Queryable, entryId: string, movement: Movement, at: string): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.ledger (entry_id, member_id, type, amount, balance_after, reference, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (entry_id) DO NOTHING`,
      [entryId, movement.memberId, movement.type, movement.amount, movement.balanceAfter, movement.reference, at],
    )
  }

  /** A page of the member's ledger, oldest first (entry ids are time-ordered), after the cursor. */
  async ledger(db: Queryable, memberId: string, page: { after?: string | undefined; limit: number }): Promise<LedgerEntry[]> {
    const { rows } = await db.query<{ entry_id: string; type: MovementType; amount: string; balance_after: string; reference: string | null; at: Date | string }>(
      `SELECT entry_id, type, amount::text AS amount, balance_after::text AS balance_after, reference, at FROM ${this.s}.ledger
       WHERE member_id = $1 AND ($2::uuid IS NULL OR entry_id > $2::uuid) ORDER BY entry_id LIMIT $3`,
      [memberId, page.after ?? null, page.limit],
    )
    return rows.map((r) => ({ entryId: r.entry_id, type: r.type, amount: Number(r.amount), balanceAfter: Number(r.balance_after), reference: r.reference, at: isoTime(r.at) }))
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
        type text NOT NULL,
        amount bigint NOT NULL,
        balance_after bigint NOT NULL CHECK (balance_after >= 0),
        reference text,
        at timestamptz NOT NULL
      );
      CREATE INDEX ledger_by_member ON ${s}.ledger (member_id, entry_id);
      -- A payment is taken once and given back once, however often its saga asks.
      CREATE UNIQUE INDEX ledger_once_per_payment ON ${s}.ledger (reference, type) WHERE reference IS NOT NULL;`,
  },
]
