import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import { ordersOverHttp, type Answer, type OrdersOverHttp } from './test-kit/orders-over-http'

/**
 * A customer cancels while staff ship the same paid order, a thousand times at once. The order decides
 * both (the delivery asks it before it ships), so each order ends either shipped and paid, or canceled,
 * refunded and not shipped — never canceled-and-refunded with its goods gone.
 */
const PAIRS = 1_000
/** Pairs in flight at once: enough to interleave every step, few enough not to time out the ship waits. */
const IN_FLIGHT = 50
const PRICE = 100

async function inBatches<T, R>(items: readonly T[], size: number, run: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => run(item, i + j)))))
  return results
}

for (const engine of await testEngines()) {
  describe(`cancel vs ship on ${engine.name}`, () => {
    let app: OrdersOverHttp
    beforeAll(async () => {
      app = await ordersOverHttp(engine)
    })
    afterAll(() => app?.close())

    const count = async (sql: string): Promise<number> => Number((await app.db.query<{ n: string }>(sql)).rows[0]!.n)

    it(`${PAIRS} concurrent cancel/ship pairs: each order ends shipped or canceled-and-refunded, never both`, { timeout: 600_000 }, async () => {
      const { call, db } = app
      const operator = await app.member('op', ['operator'])
      const staff = await app.member('staff', ['staff'])
      const customer = await app.member('buyer')
      const credit = PAIRS * PRICE
      expect((await call('POST', `/api/customers/${customer.id}/credit`, operator.token, { amount: credit })).status).toBe(200)

      const placed = await inBatches(Array.from({ length: PAIRS }), IN_FLIGHT, async () => {
        const answer = await call('POST', '/api/orders', customer.token, { items: [{ sku: 'ticket', qty: 1, unitPrice: PRICE }], shippingAddress: '1 Main St' })
        expect(answer.status).toBe(201)
        return answer.body.orderId as string
      })
      // Every order paid and its delivery waiting to ship, so that each pair races on a shippable order.
      await eventually(() => count(`SELECT count(*) AS n FROM orders_delivery.deliveries WHERE status = 'PREPARING'`), (n) => n === PAIRS, { timeoutMs: 300_000, what: 'deliveries' })

      // The shipment goes through the feeds (delivery → order) while a cancel goes straight to the order. The
      // second of each pair leaves 0–95 ms after the first (from a dead heat to a clear lead for either
      // side), or, in one pair of 21, once the first has had its answer.
      const answers = await inBatches(placed, IN_FLIGHT, async (orderId, i) => {
        const cancel = () => call('POST', `/api/orders/${orderId}/cancel`, customer.token)
        const ship = () => call('POST', `/api/deliveries/${orderId}/ship`, staff.token)
        const step = Math.floor(i / 2) % 21
        const after = (first: Promise<unknown>, send: () => Promise<Answer>): Promise<Answer> =>
          step === 20 ? first.then(send) : new Promise((resolve) => setTimeout(resolve, step * 5)).then(send)
        const cancelFirst = i % 2 === 0
        const first = cancelFirst ? cancel() : ship()
        const second = after(first, cancelFirst ? ship : cancel)
        const [canceling, shipping] = cancelFirst ? [first, second] : [second, first]
        return { orderId, cancel: await canceling, ship: await shipping }
      })

      // Settled: no shipment still waiting for the order, and every cancel's refund made.
      await eventually(
        () => count(`SELECT count(*) AS n FROM orders_delivery.deliveries WHERE status = 'SHIP_REQUESTED'`).then(async (waiting) => waiting + (await count(`SELECT count(*) AS n FROM orders_order.orders o JOIN orders_payment.payments p ON p.order_id = o.id WHERE o.status = 'CANCELED' AND p.status <> 'REFUNDED'`))),
        (unsettled) => unsettled === 0,
        { timeoutMs: 300_000, what: 'every pair settled' },
      )
      const outcomes = await db.query<{ order_id: string; order_status: string; payment_status: string; delivery_status: string }>(
        `SELECT o.id AS order_id, o.status AS order_status, p.status AS payment_status, d.status AS delivery_status
           FROM orders_order.orders o JOIN orders_payment.payments p ON p.order_id = o.id JOIN orders_delivery.deliveries d ON d.order_id = o.id`,
      )
      expect(outcomes.rows).toHaveLength(PAIRS)
      const ended = new Map(outcomes.rows.map((row) => [row.order_id, `${row.order_status}/${row.payment_status}/${row.delivery_status}`]))
      const shipped = [...ended.values()].filter((outcome) => outcome === 'SHIPPED/PAID/SHIPPED').length
      const canceled = [...ended.values()].filter((outcome) => outcome === 'CANCELED/REFUNDED/CANCELED').length
      expect(shipped + canceled, JSON.stringify([...ended.values()].filter((o) => o !== 'SHIPPED/PAID/SHIPPED' && o !== 'CANCELED/REFUNDED/CANCELED').slice(0, 5))).toBe(PAIRS)
      console.info(`cancel vs ship on ${engine.name}: ${shipped} shipped, ${canceled} canceled`)
      // The race was real: both outcomes happened.
      expect({ shipped: shipped > 0, canceled: canceled > 0 }, `${shipped} shipped, ${canceled} canceled`).toEqual({ shipped: true, canceled: true })

      // What each side was told agrees with how its order ended: exactly one of the pair succeeded.
      for (const { orderId, cancel, ship } of answers) {
        const outcome = ended.get(orderId)
        if (outcome === 'CANCELED/REFUNDED/CANCELED') {
          expect({ cancel: cancel.status, ship: [409, 202].includes(ship.status) }).toEqual({ cancel: 200, ship: true })
          if (ship.status === 409) expect(ship.body.code).toMatch(/^(ORDER_CANCELED|ILLEGAL_TRANSITION)$/)
        } else {
          expect({ cancel: cancel.status, code: cancel.body.code, ship: [200, 202].includes(ship.status) }).toEqual({ cancel: 409, code: 'ORDER_ALREADY_SHIPPED', ship: true })
        }
      }
      // The money agrees too: the customer paid for exactly the shipped orders.
      expect(await call('GET', '/api/customers/me', customer.token)).toMatchObject({ status: 200, body: { credit: credit - shipped * PRICE } })
    })
  })
}
