import { Hono } from 'hono'
import * as z from 'zod'
import { validBody, validParams, withPosition } from '@tidings/http'
import type { UnitOfWork } from '@tidings/postgres'
import { deposit, withdraw } from './account'
import type { AccountsRepository } from './accounts.repository'

export const AccountIdParams = z.object({ accountId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1 to 64 letters, digits, _ or -') })
const MovementBody = z.object({ amount: z.number().int().positive().max(1_000_000_000) })

/** The command side over HTTP: each request is one unit of work; the response carries its consistency token. */
export function accountsRoutes(uow: UnitOfWork, accounts: AccountsRepository): Hono {
  const routes = new Hono()
  for (const [path, decision] of [
    ['deposits', deposit],
    ['withdrawals', withdraw],
  ] as const) {
    routes.post(`/api/accounts/:accountId/${path}`, validParams(AccountIdParams), validBody(MovementBody), async (c) => {
      const { accountId } = c.req.valid('param')
      const { amount } = c.req.valid('json')
      const { result, token } = await uow.run(async (tx) => {
        const { state, events } = decision(await accounts.lock(tx, accountId), amount)
        await accounts.save(tx, state)
        tx.record(...events)
        return state
      })
      withPosition(c, token)
      return c.json(result)
    })
  }
  return routes
}
