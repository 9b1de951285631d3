import { Hono } from 'hono'
import * as z from 'zod'
import { validBody, validParams, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { CustomerId } from '../shared/ids'
import { addCredit, CustomerNotFound, newCustomer } from './payment'
import type { PaymentRepository } from './payment.repository'

const CustomerParams = z.object({ customerId: CustomerId })

export function paymentRoutes({ db, uow, payments }: { db: Database; uow: UnitOfWork; payments: PaymentRepository }): Hono {
  const routes = new Hono()

  routes.post('/api/customers/:customerId/credit', validParams(CustomerParams), validBody(z.object({ amount: z.number().int().positive().max(1_000_000_000) })), async (c) => {
    const { customerId } = c.req.valid('param')
    const { result, token } = await uow.run(async (tx) => {
      const { state, events } = addCredit((await payments.customer(tx, customerId, { lock: true })) ?? newCustomer(customerId), c.req.valid('json').amount)
      await payments.saveCustomer(tx, state)
      tx.record(...events)
      return state
    })
    withPosition(c, token)
    return c.json({ customerId, credit: result.credit })
  })

  routes.get('/api/customers/:customerId', validParams(CustomerParams), async (c) => {
    const { customerId } = c.req.valid('param')
    const customer = await payments.customer(db, customerId)
    if (!customer) throw new CustomerNotFound(customerId)
    return c.json({ customerId, credit: customer.credit })
  })

  return routes
}
