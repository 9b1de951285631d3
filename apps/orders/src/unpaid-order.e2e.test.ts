import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Logger } from '@tidings/core'
import { eventually, testEngines } from '@tidings/testing'
import { PAYMENT_SOURCE } from './payment/payment.contracts'
import { ordersOverHttp, type Member, type OrdersOverHttp } from './test-kit/orders-over-http'

/** Short enough to wait for in a test; the default is two minutes. */
const PAYMENT_TIMEOUT_MS = 300

for (const engine of await testEngines()) {
  describe(`orders that cannot be paid, on ${engine.name}`, () => {
    let app: OrdersOverHttp
    let operator: Member
    let staff: Member
    const alerts: Array<Record<string, unknown>> = []
    const logger: Logger = { info: () => {}, warn: () => {}, error: (obj) => alerts.push(obj as Record<string, unknown>) }

    beforeAll(async () => {
      app = await ordersOverHttp(engine, { paymentTimeoutMs: PAYMENT_TIMEOUT_MS, logger })
      operator = await app.member('op', ['operator'])
      staff = await app.member('staff', ['staff'])
    })
    afterAll(() => app?.close())

    const customer = async (name: string, credit: number): Promise<Member> => {
      const member = await app.member(name)
      expect((await app.call('POST', `/api/customers/${member.id}/credit`, operator.token, { amount: credit })).status).toBe(200)
      return member
    }
    const place = async (buyer: Member): Promise<string> => {
      const placed = await app.call('POST', '/api/orders', buyer.token, { items: [{ sku: 'lamp', qty: 1, unitPrice: 3000 }], shippingAddress: '1 Main St' })
      expect(placed.status).toBe(201)
      return placed.body.orderId as string
    }
    const statusOf = (buyer: Member, orderId: string, accept: (view: Record<string, unknown>) => boolean) =>
      eventually(async () => (await app.call('GET', `/api/order-status/${orderId}`, buyer.token)).body, accept, { what: `order ${orderId}` })
    const ledgerOf = async (buyer: Member) => (await app.call('GET', '/api/customers/me/ledger', buyer.token)).body.items as Array<{ kind: string; amount: number; orderId: string | null }>

    it('payment down: the order fails at its deadline with an alert; when payment is back the late charge is refunded and the ledger adds up', async () => {
      const buyer = await customer('late', 10_000)
      const payment = app.orders.services.find((s) => s.name === PAYMENT_SOURCE)!
      await Promise.all(payment.subscriptions.map((s) => s.stop()))
      const orderId = await place(buyer)

      await statusOf(buyer, orderId, (v) => v.orderStatus === 'PAYMENT_FAILED' && v.paymentStatus === null)
      expect(alerts).toContainEqual(expect.objectContaining({ alert: 'deadline_missed', code: 'ORDER_PAYMENT_OVERDUE', orderId }))
      expect(await app.call('POST', `/api/orders/${orderId}/cancel`, buyer.token)).toMatchObject({ status: 409, body: { code: 'ORDER_CLOSED' } })

      // Payment comes back: it charges the placing it had not heard of, then hears of the failure and gives it back.
      for (const s of payment.subscriptions) s.start()
      await statusOf(buyer, orderId, (v) => v.orderStatus === 'PAYMENT_FAILED' && v.paymentStatus === 'REFUNDED' && v.deliveryStatus === 'CANCELED')
      expect(await app.call('POST', `/api/deliveries/${orderId}/ship`, staff.token)).toMatchObject({ status: 409, body: { code: 'ILLEGAL_TRANSITION' } })
      expect((await app.call('GET', '/api/customers/me', buyer.token)).body.credit).toBe(10_000)
      expect((await ledgerOf(buyer)).map(({ kind, amount, orderId: of }) => [kind, amount, of])).toEqual([
        ['CREDIT', 10_000, null],
        ['CHARGE', -3000, orderId],
        ['REFUND', 3000, orderId],
      ])
    })

    it('a payment that answers in time is not undone by the deadline', async () => {
      const buyer = await customer('prompt', 10_000)
      const orderId = await place(buyer)
      await statusOf(buyer, orderId, (v) => v.orderStatus === 'PAID')
      // The deadline has come and gone once its message has been delivered.
      await eventually(async () => Number((await app.db.query<{ n: string }>(`SELECT count(*) AS n FROM orders_order.scheduled_messages WHERE key = $1`, [orderId])).rows[0]!.n), (n) => n === 0, { what: 'the deadline' })
      expect((await app.call('GET', `/api/order-status/${orderId}`, buyer.token)).body).toMatchObject({ orderStatus: 'PAID', paymentStatus: 'PAID' })
      expect(alerts.filter((a) => a.orderId === orderId)).toEqual([])
    })

    it('the ledger: each customer reads their own, staff and operators anyone’s, in pages; its sum is the credit', async () => {
      const buyer = await customer('busy', 50_000)
      const other = await customer('other', 1)
      const placed = await Promise.all(Array.from({ length: 6 }, () => place(buyer)))
      for (const orderId of placed.slice(0, 2)) {
        await statusOf(buyer, orderId, (v) => v.paymentStatus === 'PAID')
        expect((await app.call('POST', `/api/orders/${orderId}/cancel`, buyer.token)).status).toBe(200)
      }
      await Promise.all(placed.map((orderId, i) => statusOf(buyer, orderId, (v) => v.paymentStatus === (i < 2 ? 'REFUNDED' : 'PAID'))))

      const pages: Array<Array<{ amount: number }>> = []
      for (let after: string | null | undefined = undefined; after !== null; ) {
        const page: { status: number; body: Record<string, unknown> } = await app.call('GET', `/api/customers/${buyer.id}/ledger?limit=3${after ? `&after=${after}` : ''}`, staff.token)
        expect(page.status).toBe(200)
        pages.push(page.body.items as Array<{ amount: number }>)
        after = page.body.next as string | null
      }
      const entries = pages.flat()
      expect(entries).toHaveLength(1 + 6 + 2)
      const credit = (await app.call('GET', '/api/customers/me', buyer.token)).body.credit
      expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(credit)
      expect(credit).toBe(50_000 - 4 * 3000)
      expect(await app.call('GET', `/api/customers/${buyer.id}/ledger`, operator.token)).toMatchObject({ status: 200 })

      // Nobody else's: a member reads only their own, never another's by id.
      expect(await app.call('GET', `/api/customers/${buyer.id}/ledger`, other.token)).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
      expect(await app.call('GET', '/api/customers/me/ledger', undefined)).toMatchObject({ status: 401 })
      expect((await ledgerOf(other)).map((e) => e.amount)).toEqual([1])
      expect(await app.call('GET', `/api/customers/${buyer.id}/ledger?limit=0`, staff.token)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      expect(await app.call('GET', `/api/customers/${buyer.id}/ledger?after=nope`, staff.token)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
    })
  })
}
