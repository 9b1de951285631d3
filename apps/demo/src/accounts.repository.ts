import { schemaName, type Queryable } from '@tidings/postgres'
import { newAccount, type Account } from './account'

/** Accounts on the command side: one row each, locked for the length of a command. */
export class AccountsRepository {
  private readonly table: string

  constructor(schema: string) {
    this.table = `${schemaName(schema)}.accounts`
  }

  /** The account, locked until the transaction ends; a new one (not yet saved) if it does not exist. */
  async lock(tx: Queryable, accountId: string): Promise<Account> {
    const result = await tx.query<{ balance: string; version: number }>(`SELECT balance::text AS balance, version FROM ${this.table} WHERE id = $1 FOR UPDATE`, [accountId])
    const row = result.rows[0]
    return row ? { accountId, balance: Number(row.balance), version: Number(row.version) } : newAccount(accountId)
  }

  async save(tx: Queryable, account: Account): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.table} (id, balance, version) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET balance = excluded.balance, version = excluded.version`,
      [account.accountId, account.balance, account.version],
    )
  }
}

export const accountsMigrations = [
  { version: 1, name: 'accounts', up: (s: string) => `CREATE TABLE ${s}.accounts (id text PRIMARY KEY, balance bigint NOT NULL, version int NOT NULL)` },
]
