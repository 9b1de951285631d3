import { event, TidingsError, type Logger } from '@tidings/core'
import { migrate, type Database, type UnitOfWork } from '@tidings/postgres'
import type { Context, Hono } from 'hono'
import * as z from 'zod'
import { withPosition } from '../consistency'
import { createHttpApp } from '../create-http-app'
import { idempotent } from '../idempotency'
import { validBody } from '../validation'

/** A deposit the account refuses, inside the command's transaction (so nothing is written). */
export class AccountFrozen extends TidingsError {
  constructor() {
    super('ACCOUNT_FROZEN', 'conflict', 'The account is frozen')
  }
}

export interface KeyedDepositsOptions {
  uow: UnitOfWork
  schema: string
  /** Called between the command's commit and the answer (a test fails or dies there). */
  afterCommit?: () => void
  /** Whether the account refuses deposits right now; asked inside the command. */
  frozen?: () => boolean
  /** Where the app logs the errors it answers 500 for. */
  logger?: Logger
}

const DepositBody = z.object({ amount: z.number().int().positive().max(1_000_000) })

/** The deposits table of the keyed-command tests, in the unit of work's schema. */
export async function migrateDeposits(db: Database, schema: string): Promise<void> {
  await migrate(db, schema, 'keyed-deposits', [
    { version: 1, name: 'deposits', up: (s) => `CREATE TABLE ${s}.deposits (id bigserial PRIMARY KEY, account text NOT NULL, amount bigint NOT NULL)` },
  ])
}

/**
 * A command route for the idempotency tests: `POST /accounts/:account/deposits` records a deposit and
 * answers `201 { depositId, balance, at }`, the caller being the `X-Caller` header; under `/required` the
 * key is required. The command's result holds a `Date`: a replay must render it as the first answer did.
 */
export function keyedDepositsApp({ uow, schema, afterCommit, frozen, logger }: KeyedDepositsOptions): Hono {
  const app = createHttpApp(logger ? { logger } : {})
  const caller = (c: Context) => c.req.header('X-Caller')
  for (const [path, required] of [['/accounts/:account/deposits', false], ['/required/accounts/:account/deposits', true]] as const) {
    app.post(path, idempotent(uow, { caller, required }), validBody(DepositBody), async (c) => {
      const account = c.req.param('account')
      const { amount } = c.req.valid('json')
      const { result, token } = await uow.run(async (tx) => {
        if (frozen?.()) throw new AccountFrozen()
        const inserted = await tx.query<{ id: string; balance: string }>(
          `WITH d AS (INSERT INTO ${schema}.deposits (account, amount) VALUES ($1, $2) RETURNING id)
           SELECT d.id::text, ((SELECT coalesce(sum(amount), 0) FROM ${schema}.deposits WHERE account = $1) + $2)::text AS balance FROM d`,
          [account, amount],
        )
        tx.record(event('test.Deposited.v1', account, { account, amount }))
        return { depositId: inserted.rows[0]!.id, balance: Number(inserted.rows[0]!.balance), at: new Date() }
      })
      afterCommit?.()
      withPosition(c, token)
      return c.json({ depositId: result.depositId, balance: result.balance, at: result.at.toISOString() }, 201)
    })
  }
  return app
}
