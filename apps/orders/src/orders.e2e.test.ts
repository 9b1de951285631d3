import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveHttp } from '@tidings/http'
import { strangerToken } from '@tidings/auth/test-kit'
import { createConnection } from 'mysql2/promise'
import { eventually, TEST_CONSISTENCY_TIMEOUT_MS, testEngines, uniqueName } from '@tidings/testing'
import { MARIADB_URL, mariadbReachable } from './order-status/mariadb-test-server'
import { composeOrders, type Orders } from './orders'

interface Answer {
  status: number
  body: Record<string, unknown>
  position: string | null
}

/** A MariaDB database of its own for the view, dropped when the file ends. */
async function freshMariaDb(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('view')
  const admin = await createConnection({ uri: MARIADB_URL })
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(MARIADB_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const again = await createConnection({ uri: MARIADB_URL })
      await again.query(`DROP DATABASE IF EXISTS ${name}`)
      await again.end()
    },
  }
}

/** The deployment's operator secret: it makes the test's operator and staff members. */
const OPERATOR_SECRET = 'orders-test-operator-secret'

const engines = await testEngines()
const targets = engines.map((engine) => ({ engine, mariadbView: false }))
if (await mariadbReachable()) targets.push({ engine: engines.at(-1)!, mariadbView: true })

for (const { engine, mariadbView } of targets) {
  describe(`orders over HTTP on ${engine.name}${mariadbView ? ', the view in MariaDB' : ''}`, () => {
    let orders: Orders
    let base: string
    let close: () => Promise<void>

    beforeAll(async () => {
      const view = mariadbView ? await freshMariaDb() : undefined
      orders = await composeOrders({ db: (await engine.freshDatabase()).db, consistencyTimeoutMs: TEST_CONSISTENCY_TIMEOUT_MS, identity: { operatorToken: OPERATOR_SECRET }, ...(view ? { viewDatabaseUrl: view.url } : {}) })
      await orders.start()
      const server = await serveHttp(orders.http, 0, { hostname: '127.0.0.1' })
      base = `http://127.0.0.1:${server.port}`
      close = async () => {
        await orders.stop()
        await server.close()
        await view?.drop()
      }
    })
    afterAll(() => close?.())

    /** A customer: a member signed up and logged in with the identity service, as for the board. */
    interface Customer {
      customerId: string
      token: string
    }

    async function call(method: string, path: string, as: Customer | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(as ? { authorization: `Bearer ${as.token}` } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await response.text()
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, position: response.headers.get('tidings-position') }
    }

    let members = 0
    /** A member signed up and logged in; with roles, given them first by the deployment's operator secret. */
    const newMember = async (roles: string[] = []): Promise<Customer> => {
      const email = `c-${engine.name}-${mariadbView ? 'm' : 'p'}-${++members}-${process.pid}@example.com`
      const joined = await call('POST', '/api/members', undefined, { email, password: 'correct horse', nickname: `c${members}x${process.pid}` })
      expect(joined.status).toBe(201)
      const memberId = joined.body.memberId as string
      if (roles.length > 0) expect(await call('PUT', `/api/members/${memberId}/roles`, { customerId: '', token: OPERATOR_SECRET }, { roles })).toMatchObject({ status: 200, body: { roles } })
      const login = await call('POST', '/api/auth/login', undefined, { email, password: 'correct horse' })
      return { customerId: memberId, token: login.body.token as string }
    }
    let operator: Customer
    let staff: Customer
    beforeAll(async () => {
      operator = await newMember(['operator'])
      staff = await newMember(['staff'])
    })
    const newCustomer = async (credit: number): Promise<Customer> => {
      const customer = await newMember()
      if (credit > 0) expect(await call('POST', `/api/customers/${customer.customerId}/credit`, operator, { amount: credit })).toMatchObject({ status: 200, body: { customerId: customer.customerId, credit } })
      return customer
    }
    const place = (customer: Customer, items = [{ sku: 'book', qty: 2, unitPrice: 1500 }]) => call('POST', '/api/orders', customer, { items, shippingAddress: '1 Main St' })
    const statusOf = (customer: Customer, orderId: string, accept: (v: Record<string, unknown>) => boolean) =>
      eventually(async () => (await call('GET', `/api/order-status/${orderId}`, customer)).body, accept, { what: `order ${orderId} status` })

    it('places an order, charges it, creates its delivery, ships and delivers it; the view shows each step', async () => {
      const customer = await newCustomer(10_000)
      const placed = await place(customer)
      expect(placed).toMatchObject({ status: 201, body: { total: 3000, status: 'PLACED' } })
      expect(placed.position).toMatch(/^orders\.order@/)
      const orderId = placed.body.orderId as string
      const read = await call('GET', `/api/order-status/${orderId}`, customer, undefined, { 'Tidings-Position': placed.position! })
      expect(read.body).toMatchObject({ orderId, customerId: customer.customerId, total: 3000, shippingAddress: '1 Main St' })
      await statusOf(customer, orderId, (v) => v.orderStatus === 'PAID' && v.paymentStatus === 'PAID' && v.deliveryStatus === 'PREPARING')
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ body: { credit: 7000 } })

      const shipped = await call('POST', `/api/deliveries/${orderId}/ship`, staff)
      expect(shipped).toMatchObject({ status: 200, body: { status: 'SHIPPED' } })
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, staff)).toMatchObject({ status: 409, body: { code: 'ILLEGAL_TRANSITION' } })
      // With the shipment's token the order decides knowing it has shipped.
      expect(await call('PATCH', `/api/orders/${orderId}/shipping-address`, customer, { shippingAddress: '2 Side St' }, { 'Tidings-Position': shipped.position! })).toMatchObject({
        status: 409,
        body: { code: 'ORDER_ALREADY_SHIPPED' },
      })
      expect(await call('POST', `/api/orders/${orderId}/cancel`, customer, undefined, { 'Tidings-Position': shipped.position! })).toMatchObject({ status: 409, body: { code: 'ORDER_ALREADY_SHIPPED' } })
      expect(await call('POST', `/api/deliveries/${orderId}/deliver`, staff)).toMatchObject({ status: 200, body: { status: 'DELIVERED' } })
      await statusOf(customer, orderId, (v) => v.orderStatus === 'DELIVERED' && v.deliveryStatus === 'DELIVERED' && v.shippingAddress === '1 Main St')
      const list = await call('GET', '/api/order-status', customer)
      expect((list.body.items as Array<{ orderId: string }>).map((i) => i.orderId)).toEqual([orderId])
    })

    it('cancels before shipping: refunds exactly once, restores the credit, the view shows CANCELED / REFUNDED', async () => {
      const customer = await newCustomer(5_000)
      const orderId = (await place(customer)).body.orderId as string
      await statusOf(customer, orderId, (v) => v.paymentStatus === 'PAID' && v.deliveryStatus === 'PREPARING')
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ body: { credit: 2000 } })
      const canceled = await call('POST', `/api/orders/${orderId}/cancel`, customer)
      expect(canceled).toMatchObject({ status: 200, body: { status: 'CANCELED' } })
      expect(await call('POST', `/api/orders/${orderId}/cancel`, customer)).toMatchObject({ status: 200, body: { status: 'CANCELED' } })
      await statusOf(customer, orderId, (v) => v.orderStatus === 'CANCELED' && v.paymentStatus === 'REFUNDED' && v.deliveryStatus === 'CANCELED')
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ body: { credit: 5000 } })
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, staff)).toMatchObject({ status: 409, body: { code: 'ILLEGAL_TRANSITION' } })
    })

    it('a retried order with the same Idempotency-Key is one order, charged once; the key is the customer\'s own', async () => {
      const customer = await newCustomer(10_000)
      const body = { items: [{ sku: 'book', qty: 1, unitPrice: 2500 }], shippingAddress: '1 Main St' }
      const key = { 'Idempotency-Key': `order-${crypto.randomUUID()}` }
      const tries = await Promise.all([1, 2, 3].map(() => call('POST', '/api/orders', customer, body, key)))
      const placed = tries.find((t) => t.status === 201)!
      for (const t of tries) expect([201, 409]).toContain(t.status)
      const retry = await call('POST', '/api/orders', customer, body, key)
      expect(retry).toEqual(placed)
      expect(await call('POST', '/api/orders', customer, { ...body, shippingAddress: '2 Side St' }, key)).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } })
      const orderId = placed.body.orderId as string
      await statusOf(customer, orderId, (v) => v.paymentStatus === 'PAID')
      expect((await call('GET', '/api/order-status', customer)).body.items).toHaveLength(1)
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ body: { credit: 7500 } })
      // Another customer's request with the same key is theirs: it places their own order.
      const other = await newCustomer(10_000)
      expect(await call('POST', '/api/orders', other, body, key)).toMatchObject({ status: 201, body: { customerId: other.customerId } })
      // A retried shipment answers as the first did.
      const shipKey = { 'Idempotency-Key': `ship-${orderId}` }
      const shipped = await call('POST', `/api/deliveries/${orderId}/ship`, staff, undefined, shipKey)
      expect(shipped).toMatchObject({ status: 200, body: { status: 'SHIPPED' } })
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, staff, undefined, shipKey)).toEqual(shipped)
    })

    it('insufficient credit: PAYMENT_FAILED, no delivery, credit unchanged', async () => {
      const customer = await newCustomer(1_000)
      const orderId = (await place(customer)).body.orderId as string
      await statusOf(customer, orderId, (v) => v.orderStatus === 'PAYMENT_FAILED' && v.paymentStatus === 'FAILED')
      expect((await call('GET', `/api/order-status/${orderId}`, customer)).body.deliveryStatus).toBeNull()
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, staff)).toMatchObject({ status: 404, body: { code: 'DELIVERY_NOT_FOUND' } })
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ body: { credit: 1000 } })
      expect(await call('POST', `/api/orders/${orderId}/cancel`, customer)).toMatchObject({ status: 409, body: { code: 'ORDER_CLOSED' } })
    })

    it('an address change before shipping reaches the delivery', async () => {
      const customer = await newCustomer(10_000)
      const orderId = (await place(customer)).body.orderId as string
      await statusOf(customer, orderId, (v) => v.deliveryStatus === 'PREPARING')
      const changed = await call('PATCH', `/api/orders/${orderId}/shipping-address`, customer, { shippingAddress: '9 New Rd' })
      expect(changed).toMatchObject({ status: 200, body: { shippingAddress: '9 New Rd' } })
      // Shipping with the change's token waits until delivery has heard of the change.
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, staff, undefined, { 'Tidings-Position': changed.position! })).toMatchObject({
        status: 200,
        body: { status: 'SHIPPED', address: '9 New Rd' },
      })
      await statusOf(customer, orderId, (v) => v.shippingAddress === '9 New Rd' && v.orderStatus === 'SHIPPED')
    })

    it('refuses bad orders and unknown ids with 4xx codes', async () => {
      const customer = await newCustomer(0)
      for (const items of [[], [{ sku: 'a', qty: 0, unitPrice: 1 }], [{ sku: 'a', qty: 1, unitPrice: -5 }], [{ sku: 'a', qty: 1.5, unitPrice: 1 }]]) {
        expect(await place(customer, items)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      }
      expect(await call('POST', `/api/customers/${customer.customerId}/credit`, operator, { amount: 0 })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      expect(await call('POST', '/api/customers/not-a-uuid/credit', operator, { amount: 5 })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ status: 404, body: { code: 'CUSTOMER_NOT_FOUND' } })
      expect(await call('GET', '/api/order-status/0190a8f2-0000-7000-8000-000000000000', customer)).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
      expect(await call('POST', '/api/orders/not-a-uuid/cancel', customer)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      expect(await call('POST', '/api/orders/0190a8f2-0000-7000-8000-000000000000/cancel', customer)).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
    })

    it("answers only the customer: without a token 401, another member's order is not found and untouched", async () => {
      const ann = await newCustomer(10_000)
      const eve = await newCustomer(10_000)
      const placed = await place(ann)
      const orderId = placed.body.orderId as string
      // The order hears of its payment after payment does: wait for both before comparing the view at the end.
      await statusOf(ann, orderId, (v) => v.paymentStatus === 'PAID' && v.orderStatus === 'PAID')
      for (const [method, path, body] of [
        ['POST', '/api/orders', { items: [{ sku: 'x', qty: 1, unitPrice: 1 }], shippingAddress: 'x' }],
        ['POST', `/api/orders/${orderId}/cancel`],
        ['PATCH', `/api/orders/${orderId}/shipping-address`, { shippingAddress: 'Eve St' }],
        ['POST', `/api/customers/${ann.customerId}/credit`, { amount: 5 }],
        ['GET', '/api/customers/me'],
        ['GET', `/api/customers/${ann.customerId}`],
        ['POST', `/api/deliveries/${orderId}/ship`],
        ['GET', `/api/order-status/${orderId}`],
        ['GET', '/api/order-status'],
      ] as const) {
        expect(await call(method, path, undefined, body), `${method} ${path}`).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
      }
      expect(await call('GET', `/api/order-status/${orderId}`, eve, undefined, { 'Tidings-Position': placed.position! })).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
      expect(await call('POST', `/api/orders/${orderId}/cancel`, eve)).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
      expect(await call('PATCH', `/api/orders/${orderId}/shipping-address`, eve, { shippingAddress: 'Eve St' })).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
      expect((await call('GET', '/api/order-status', eve)).body).toEqual({ items: [] })
      expect(await call('GET', '/api/customers/me', eve)).toMatchObject({ body: { customerId: eve.customerId, credit: 10_000 } })
      expect(await call('GET', `/api/order-status/${orderId}`, ann)).toMatchObject({ status: 200, body: { orderStatus: 'PAID', shippingAddress: '1 Main St' } })
    })

    it("a new customer's first top-ups at once all count: they queue on one account, none is refused", async () => {
      const customer = await newMember()
      const answers = await Promise.all(Array.from({ length: 8 }, () => call('POST', `/api/customers/${customer.customerId}/credit`, operator, { amount: 100 })))
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200))
      expect(answers.map((a) => a.body.credit).sort((a, b) => Number(a) - Number(b))).toEqual([100, 200, 300, 400, 500, 600, 700, 800])
      expect(await call('GET', '/api/customers/me', customer)).toMatchObject({ body: { credit: 800 } })
    })

    it('staff ship, deliver and read any order; only an operator adds credit, and roles are granted only by an operator', async () => {
      const ann = await newCustomer(10_000)
      const eve = await newCustomer(0)
      const placed = await place(ann)
      const orderId = placed.body.orderId as string
      await statusOf(ann, orderId, (v) => v.deliveryStatus === 'PREPARING')
      // A customer (even the order's own) neither ships nor delivers, nor adds credit, to anyone.
      for (const [method, path, body] of [
        ['POST', `/api/deliveries/${orderId}/ship`],
        ['POST', `/api/deliveries/${orderId}/deliver`],
        ['POST', `/api/customers/${ann.customerId}/credit`, { amount: 5 }],
        ['POST', `/api/customers/${eve.customerId}/credit`, { amount: 5 }],
        ['GET', `/api/customers/${ann.customerId}`],
        ['GET', `/api/order-status?customerId=${eve.customerId}`],
        ['PUT', `/api/members/${ann.customerId}/roles`, { roles: ['operator'] }],
      ] as const) {
        expect(await call(method, path, ann, body), `${method} ${path}`).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
      }
      // Staff do not add credit or grant roles; an operator does not ship.
      expect(await call('POST', `/api/customers/${eve.customerId}/credit`, staff, { amount: 5 })).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
      expect(await call('PUT', `/api/members/${eve.customerId}/roles`, staff, { roles: ['staff'] })).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, operator)).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
      expect(await call('GET', '/api/customers/me', eve)).toMatchObject({ status: 404, body: { code: 'CUSTOMER_NOT_FOUND' } })
      // Staff read any order and customer.
      expect(await call('GET', `/api/order-status/${orderId}`, staff)).toMatchObject({ status: 200, body: { customerId: ann.customerId } })
      expect((await call('GET', `/api/order-status?customerId=${ann.customerId}`, staff)).body).toMatchObject({ items: [{ orderId }] })
      expect(await call('GET', `/api/customers/${ann.customerId}`, staff)).toMatchObject({ status: 200, body: { credit: 7000 } })
      expect(await call('POST', `/api/deliveries/${orderId}/ship`, staff)).toMatchObject({ status: 200, body: { status: 'SHIPPED' } })
      // A forged token that claims the roles (signed by a key of its own) is no one at all.
      const forgedOperator = { customerId: ann.customerId, token: await strangerToken(ann.customerId, { roles: ['operator', 'staff'] }) }
      for (const [method, path, body] of [
        ['POST', `/api/customers/${ann.customerId}/credit`, { amount: 5 }],
        ['PUT', `/api/members/${ann.customerId}/roles`, { roles: ['operator'] }],
        ['POST', `/api/deliveries/${orderId}/ship`],
        ['GET', `/api/order-status?customerId=${eve.customerId}`],
      ] as const) {
        expect(await call(method, path, forgedOperator, body), `forged ${method} ${path}`).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN' } })
      }
      // A wrong secret is not the operator; an operator member grants roles, in the member's tokens from the next log-in.
      expect(await call('PUT', `/api/members/${eve.customerId}/roles`, { customerId: '', token: `${OPERATOR_SECRET}x` }, { roles: ['staff'] })).toMatchObject({ status: 401 })
      expect(await call('PUT', `/api/members/${eve.customerId}/roles`, operator, { roles: ['staff', 'admin'] })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      expect(await call('PUT', `/api/members/${eve.customerId}/roles`, operator, { roles: ['staff'] })).toMatchObject({ status: 200, body: { memberId: eve.customerId, roles: ['staff'] } })
      expect(await call('GET', `/api/order-status/${orderId}`, eve)).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
    })
  })
}
