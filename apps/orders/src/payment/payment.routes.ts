import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { validBody, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { addCredit, CustomerNotFound, newCustomer } from './payment'
import type { PaymentRepository } from './payment.repository'

/** A member's own account: they top it up (as the concert article's users charge their balance) and read it. */
export function paymentRoutes({ db, uow, payments, verify }: { db: Database; uow: UnitOfWork; payments: PaymentRepository; verify: TokenVerifier }): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  routes.use('/api/customers/me', requireMember(verify))
  routes.use('/api/customers/me/*', requireMember(verify))

  routes.post('/api/customers/me/credit', validBody(z.object({ amount: z.number().int().positive().max(1_000_000_000) })), async (c) => {
    const customerId = c.get('memberId')
    const { result, token } = await uow.run(async (tx) => {
      const { state, events } = addCredit((await payments.customer(tx, customerId, { lock: true })) ?? newCustomer(customerId), c.req.valid('json').amount)
      await payments.saveCustomer(tx, state)
      tx.record(...events)
      return state
    })
    withPosition(c, token)
    return c.json({ customerId, credit: result.credit })
  })

  routes.get('/api/customers/me', async (c) => {
    const customerId = c.get('memberId')
    const customer = await payments.customer(db, customerId)
    if (!customer) throw new CustomerNotFound(customerId)
    return c.json({ customerId, credit: customer.credit })
  })

  return routes
}
