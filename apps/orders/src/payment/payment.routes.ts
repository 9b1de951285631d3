import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, requireRole, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { idempotent, uuid, validBody, validParams, validQuery, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { addCredit, CustomerNotFound } from './payment'
import type { PaymentRepository } from './payment.repository'

const CustomerParams = z.object({ customerId: uuid })
/** An operator's top-up (exported for the fuzz suite). */
export const CreditBody = z.object({ amount: z.number().int().positive().max(1_000_000_000) })
const LedgerPage = z.object({ after: uuid.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) })

/**
 * A customer's account and its ledger: the member reads their own; staff read anyone's; only an operator
 * adds credit (a payment flow would be the other way in), never the customer's own request.
 */
export function paymentRoutes({ db, uow, payments, verify }: { db: Database; uow: UnitOfWork; payments: PaymentRepository; verify: TokenVerifier }): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const account = async (customerId: string) => {
    const customer = await payments.customer(db, customerId)
    if (!customer) throw new CustomerNotFound(customerId)
    return { customerId, credit: customer.credit }
  }

  /** A page of movements, oldest first; `next` is the `after` of the following page, null on the last. */
  const ledger = async (customerId: string, page: z.infer<typeof LedgerPage>) => {
    const items = await payments.ledger(db, customerId, page)
    return { items, next: items.length === page.limit ? items.at(-1)!.eventId : null }
  }

  routes.get('/api/customers/me', requireMember(verify), async (c) => c.json(await account(c.get('memberId'))))
  routes.get('/api/customers/me/ledger', requireMember(verify), validQuery(LedgerPage), async (c) => c.json(await ledger(c.get('memberId'), c.req.valid('query'))))
  routes.get('/api/customers/:customerId/ledger', requireRole(verify, 'staff', 'operator'), validParams(CustomerParams), validQuery(LedgerPage), async (c) =>
    c.json(await ledger(c.req.valid('param').customerId, c.req.valid('query'))),
  )

  routes.get('/api/customers/:customerId', requireRole(verify, 'staff', 'operator'), validParams(CustomerParams), async (c) => c.json(await account(c.req.valid('param').customerId)))

  routes.post('/api/customers/:customerId/credit', requireRole(verify, 'operator'), idempotent(uow), validParams(CustomerParams), validBody(CreditBody), async (c) => {
    const { customerId } = c.req.valid('param')
    const { result, token } = await uow.run(async (tx) => {
      const { state, events } = addCredit(await payments.customerForUpdate(tx, customerId), c.req.valid('json').amount)
      await payments.saveCustomer(tx, state)
      tx.record(...events)
      return state
    })
    withPosition(c, token)
    return c.json({ customerId, credit: result.credit })
  })

  return routes
}
