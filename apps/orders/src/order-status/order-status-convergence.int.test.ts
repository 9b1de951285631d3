import { afterAll, describe, expect, it } from 'vitest'
import { uuidv7, type Envelope } from '@tidings/core'
import { migrate, platformMigrations, Subscription, type Database } from '@tidings/postgres'
import { eventually, ScriptedFeed, seededRandom, testEngines, uniqueName } from '@tidings/testing'
import type { DeliveryStatus } from '../delivery/delivery.contracts'
import type { OrderStatus } from '../order/order.contracts'
import type { PaymentStatus } from '../payment/payment.contracts'
import { MariaDbOrderStatusStore } from './mariadb-order-status.store'
import { MARIADB_URL, mariadbReachable } from './mariadb-test-server'
import type { OrderStatusStore, OrderStatusView } from './order-status'
import { orderStatusProjection } from './order-status.projection'
import { orderStatusMigrations, PgOrderStatusStore } from './pg-order-status.store'

const ORDERS = 1_000

/** The six orders in which the three sources can reach a row. */
const PERMUTATIONS = [
  ['order', 'payment', 'delivery'],
  ['order', 'delivery', 'payment'],
  ['payment', 'order', 'delivery'],
  ['payment', 'delivery', 'order'],
  ['delivery', 'order', 'payment'],
  ['delivery', 'payment', 'order'],
] as const

interface History {
  orderId: string
  order: OrderStatus[]
  payment: PaymentStatus[]
  delivery: DeliveryStatus[]
}

/** Full-state histories: most orders are delivered, every fifth is canceled and refunded. */
function histories(): History[] {
  return Array.from({ length: ORDERS }, (_, i) =>
    i % 5 === 0
      ? { orderId: uuidv7(), order: ['PLACED', 'PAID', 'CANCELED'], payment: ['PAID', 'REFUNDED'], delivery: ['PREPARING', 'CANCELED'] }
      : { orderId: uuidv7(), order: ['PLACED', 'PAID', 'SHIPPED', 'DELIVERED'], payment: ['PAID'], delivery: ['PREPARING', 'SHIPPED', 'DELIVERED'] },
  )
}

function envelope(source: string, type: string, key: string, data: Record<string, unknown>): Envelope {
  return { id: uuidv7(), type, source, key, version: data.version as number, occurredAt: new Date(Date.UTC(2026, 10, 30, 10, 0, 0, data.version as number)).toISOString(), data, meta: {} }
}

/**
 * Each source's stream: every event twice (the copy under a new id, so the inbox cannot hide it), a third
 * of the orders with newer events before older ones, orders interleaved at random. The three consumers run
 * at once, so which source's event reaches a row first varies from order to order.
 */
function streams(all: History[], random: () => number): Record<'orders.order' | 'orders.payment' | 'orders.delivery', Envelope[]> {
  const bySource = { order: [] as Array<{ rank: number; e: Envelope }>, payment: [] as Array<{ rank: number; e: Envelope }>, delivery: [] as Array<{ rank: number; e: Envelope }> }
  all.forEach((h, i) => {
    const push = (source: keyof typeof bySource, e: Envelope) => {
      for (const copy of [e, { ...e, id: uuidv7() }]) bySource[source].push({ rank: i + random() * 40, e: copy })
    }
    h.order.forEach((status, v) =>
      push('order', envelope('orders.order', 'orders.OrderChanged.v1', h.orderId, { orderId: h.orderId, customerId: `c${i % 50}`, items: [], total: 1000 + i, shippingAddress: `addr ${i}`, status, version: v + 1 })),
    )
    h.payment.forEach((status, v) => push('payment', envelope('orders.payment', 'orders.PaymentChanged.v1', h.orderId, { orderId: h.orderId, customerId: `c${i % 50}`, amount: 1000 + i, status, version: v + 1 })))
    h.delivery.forEach((status, v) => push('delivery', envelope('orders.delivery', 'orders.DeliveryChanged.v1', h.orderId, { orderId: h.orderId, address: `addr ${i}`, status, version: v + 1 })))
  })
  const arrange = (list: Array<{ rank: number; e: Envelope }>) => list.sort((a, b) => a.rank - b.rank).map((x) => x.e)
  // Within a source, newer before older for a third of the orders: the stream itself is out of order.
  for (const list of Object.values(bySource)) for (const x of list) if (random() < 0.33) x.rank -= (x.e.version ?? 0) * 7
  return { 'orders.order': arrange(bySource.order), 'orders.payment': arrange(bySource.payment), 'orders.delivery': arrange(bySource.delivery) }
}

async function runConsumers(db: Database, store: OrderStatusStore, scripts: ReturnType<typeof streams>): Promise<void> {
  const schema = uniqueName('status_consumers')
  await migrate(db, schema, 'tidings', platformMigrations)
  const base = orderStatusProjection(store)
  // Three consumers, one per source stream, each with its own lease, connection and transactions.
  const subscriptions = Object.entries(scripts).map(([source, script]) => {
    const feed = new ScriptedFeed(source, script)
    const subscription = new Subscription({ db, schema, consumer: { ...base, name: `${base.name}.${source}`, follows: [source] }, feeds: [feed], instanceId: 'test', batchSize: 200 })
    subscription.start()
    return { subscription, feed }
  })
  try {
    await eventually(
      async () => (await Promise.all(subscriptions.map(async ({ subscription, feed }) => (await subscription.processedPosition(feed.source)) === feed.lastPosition))).every(Boolean),
      Boolean,
      { what: 'the three consumers to finish', timeoutMs: 120_000 },
    )
  } finally {
    await Promise.all(subscriptions.map(({ subscription }) => subscription.stop()))
  }
  const deadLetters = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".dead_letters`)
  expect(Number(deadLetters.rows[0]!.n)).toBe(0)
}

async function expectConverged(store: OrderStatusStore, all: History[]): Promise<void> {
  const seen = new Set<string>()
  for (const [i, h] of all.entries()) {
    const row = await store.get(h.orderId)
    const expected: Omit<OrderStatusView, 'updatedAt'> = {
      orderId: h.orderId,
      customerId: `c${i % 50}`,
      total: 1000 + i,
      orderStatus: h.order.at(-1)!,
      paymentStatus: h.payment.at(-1)!,
      deliveryStatus: h.delivery.at(-1)!,
      shippingAddress: `addr ${i}`,
    }
    expect(row).toMatchObject(expected)
    seen.add(row!.orderId)
  }
  expect(seen.size).toBe(ORDERS)
}

/**
 * Every permutation, deterministically: the orders are split in six groups, and for each group the three
 * sources' streams (duplicates, older after newer) are applied one source after the other in that group's
 * permutation, one event per transaction, as three consumers taking turns would.
 */
async function applyInEveryPermutation(apply: (e: Envelope) => Promise<void>, all: History[], random: () => number): Promise<void> {
  const scripts = streams(all, random)
  const groupOf = new Map(all.map((h, i) => [h.orderId, i % PERMUTATIONS.length]))
  for (const [group, permutation] of PERMUTATIONS.entries()) {
    for (const source of permutation) {
      for (const e of scripts[`orders.${source}`]) if (groupOf.get(e.key) === group) await apply(e)
    }
  }
}

describe('the order-status view under three concurrent consumers, duplicates and every permutation of arrival', () => {
  const closers: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const close of closers) await close()
  })

  for (const [seed, target] of [
    [1, 'pglite'],
    [2, 'postgres'],
    [3, 'mariadb'],
  ] as const) {
    it(`converges on ${target}: one row per order, every field set, nothing rolled back`, async () => {
      const engines = await testEngines()
      const engine = engines.find((e) => e.name === (target === 'mariadb' ? 'postgres' : target)) ?? engines[0]!
      if (target !== 'pglite' && engine.name !== 'postgres') return void console.warn(`[tidings] SKIPPED order-status convergence on ${target}: no PostgreSQL`)
      const db = await engine.db()
      let store: OrderStatusStore
      if (target === 'mariadb') {
        if (!(await mariadbReachable())) return
        const table = uniqueName('status')
        const maria = await MariaDbOrderStatusStore.open(MARIADB_URL, { table })
        closers.push(async () => {
          await maria.drop(table)
          await maria.close()
        })
        store = maria
      } else {
        const schema = uniqueName('status')
        await migrate(db, schema, 'orders.status', orderStatusMigrations)
        store = new PgOrderStatusStore(db, schema)
      }
      const all = histories()
      await runConsumers(db, store, streams(all, seededRandom(seed)))
      await expectConverged(store, all)

      // Again, into an empty view, with every permutation of which source reaches a row first.
      await db.transaction((tx) => store.clear(tx))
      const projection = orderStatusProjection(store)
      await applyInEveryPermutation((e) => db.transaction((tx) => projection.handle(tx, e)), all, seededRandom(seed + 10))
      await expectConverged(store, all)
    }, 240_000)
  }
})
