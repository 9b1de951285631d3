import { consumer, TidingsError, type ConsumerDefinition, type Envelope } from '@tidings/core'
import { migrate, schemaName, type Database, type Queryable } from '@tidings/postgres'

export interface Deposit {
  account: string
  amount: number
}

/**
 * A read model that makes mistakes visible: every applied message adds a row (no unique constraint), so a
 * doubled effect shows up as an extra row and a lost one as a missing row; `n` records the order of
 * application, so per-key order can be checked afterwards.
 */
export async function createLedgerTables(db: Database, schema: string): Promise<void> {
  await migrate(db, schema, 'ledger-test', [
    {
      version: 1,
      name: 'applied',
      up: (s) => `CREATE TABLE ${s}.applied (n bigserial PRIMARY KEY, message_id text NOT NULL, key text NOT NULL, version bigint, amount bigint NOT NULL)`,
    },
  ])
}

export function ledgerConsumer(
  schema: string,
  options: {
    name?: string
    follows?: string[]
    /** The message is bad: after the retries it is dead-lettered. */
    failWhen?: (e: Envelope) => boolean
    /** Something it depends on is down (kind `unavailable`): retried without limit, never dead-lettered. */
    unavailableWhen?: (e: Envelope) => boolean
    mode?: 'inline' | 'deferred'
  } = {},
): ConsumerDefinition<Queryable> {
  return consumer<Queryable>({
    name: options.name ?? 'ledger',
    follows: options.follows ?? ['test.accounts'],
    mode: options.mode,
    async handle(tx, message) {
      if (message.type !== 'test.Deposited.v1') return
      if (options.failWhen?.(message)) throw new Error(`poison: ${message.id}`)
      if (options.unavailableWhen?.(message)) throw new TidingsError('TEST_OUTAGE', 'unavailable', `outage at ${message.id}`)
      const { amount } = message.data as Deposit
      await tx.query(`INSERT INTO ${schemaName(schema)}.applied (message_id, key, version, amount) VALUES ($1, $2, $3, $4)`, [
        message.id,
        message.key,
        message.version ?? null,
        amount,
      ])
    },
    async reset(tx) {
      await tx.query(`DELETE FROM ${schemaName(schema)}.applied`)
    },
  })
}

export interface LedgerTotals {
  count: number
  sum: number
  distinct: number
}

export async function ledgerTotals(db: Queryable, schema: string): Promise<LedgerTotals> {
  const result = await db.query<{ count: string; sum: string | null; distinct: string }>(
    `SELECT count(*)::text AS count, sum(amount)::text AS sum, count(DISTINCT message_id)::text AS distinct FROM ${schemaName(schema)}.applied`,
  )
  const row = result.rows[0]!
  return { count: Number(row.count), sum: Number(row.sum ?? 0), distinct: Number(row.distinct) }
}

/** Keys whose versions were applied out of order; empty when per-key order held. */
export async function outOfOrderKeys(db: Queryable, schema: string): Promise<string[]> {
  const result = await db.query<{ key: string }>(
    `SELECT DISTINCT key FROM (
       SELECT key, version, lag(version) OVER (PARTITION BY key ORDER BY n) AS previous FROM ${schemaName(schema)}.applied
     ) x WHERE version IS NOT NULL AND previous IS NOT NULL AND version <= previous`,
  )
  return result.rows.map((r) => r.key)
}
