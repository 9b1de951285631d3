import { Hono } from 'hono'
import * as z from 'zod'
import { consistentRead, validParams, validQuery, type ConsistencyWaiter } from '@tidings/http'
import type { Database, DocumentStore } from '@tidings/postgres'
import { AccountNotFound } from './account'
import { AccountIdParams } from './accounts.routes'
import type { BalanceDocument } from './balance.projection'

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
})

/** The query side: answers from the read model only; a consistency token makes it wait for its write. */
export function balancesRoutes(db: Database, balances: DocumentStore<BalanceDocument>, waiter: ConsistencyWaiter): Hono {
  const routes = new Hono()
  routes.get('/api/balances/:accountId', validParams(AccountIdParams), consistentRead({ waiter }), async (c) => {
    const { accountId } = c.req.valid('param')
    const doc = await balances.get(db, accountId)
    if (!doc) throw new AccountNotFound(accountId)
    return c.json(doc.body)
  })
  routes.get('/api/balances', validQuery(ListQuery), consistentRead({ waiter }), async (c) => {
    const { limit, after } = c.req.valid('query')
    const docs = await balances.find(db, {}, { limit, afterId: after })
    return c.json({ items: docs.map((d) => d.body), nextCursor: docs.length === limit ? docs.at(-1)!.id : null })
  })
  return routes
}
