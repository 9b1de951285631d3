import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, requireRole, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { uuid, validBody, validParams, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { addCredit, CustomerNotFound } from './payment'
import type { PaymentRepository } from './payment.repository'

const CustomerParams = z.object({ customerId: uuid })

/**
 * A customer's account: the member reads their own; staff read anyone's; only an operator adds credit (a
 * payment flow would be the other way in), never the customer's own request.
 */
export function paymentRoutes({ db, uow, payments, verify }: { db: Database; uow: UnitOfWork; payments: PaymentRepository; verify: TokenVerifier }): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const account = async (customerId: string) => {
    const customer = await payments.customer(db, customerId)
    if (!customer) throw new CustomerNotFound(customerId)
    return { customerId, credit: customer.credit }
  }

  routes.get('/api/customers/me', requireMember(verify), async (c) => c.json(await account(c.get('memberId'))))

  routes.get('/api/customers/:customerId', requireRole(verify, 'staff', 'operator'), validParams(CustomerParams), async (c) => c.json(await account(c.req.valid('param').customerId)))

  routes.post('/api/customers/:customerId/credit', requireRole(verify, 'operator'), validParams(CustomerParams), validBody(z.object({ amount: z.number().int().positive().max(1_000_000_000) })), async (c) => {
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
