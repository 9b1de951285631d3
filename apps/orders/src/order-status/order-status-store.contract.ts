import { describe, expect, it } from 'vitest'
import type { Queryable } from '@tidings/postgres'
import type { OrderStatusChange, OrderStatusStore } from './order-status'

export interface StoreUnderTest {
  store: OrderStatusStore
  /** Runs `apply` as the consumer would: in a transaction of the consumer's database (one per call). */
  apply(changes: OrderStatusChange[]): Promise<void>
  /** Another "consumer" with its own connection, for concurrency. */
  another(): Promise<{ apply(changes: OrderStatusChange[]): Promise<void> }>
}

let n = 0
const uniqueOrderId = () => `0190a8f2-0000-7000-8000-${(++n).toString(16).padStart(6, '0')}${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`

export const orderChange = (orderId: string, version: number, orderStatus: 'PLACED' | 'PAID' | 'SHIPPED' | 'DELIVERED' | 'CANCELED', extra: { customerId?: string; shippingAddress?: string } = {}): OrderStatusChange => ({
  source: 'order',
  orderId,
  version,
  at: new Date(Date.UTC(2026, 10, 30, 10, 0, version)).toISOString(),
  set: { customerId: extra.customerId ?? 'c1', total: 3000, orderStatus, shippingAddress: extra.shippingAddress ?? '1 Main St' },
})
export const paymentChange = (orderId: string, version: number, paymentStatus: 'PAID' | 'FAILED' | 'REFUNDED'): OrderStatusChange => ({
  source: 'payment',
  orderId,
  version,
  at: new Date(Date.UTC(2026, 10, 30, 10, 1, version)).toISOString(),
  set: { paymentStatus },
})
export const deliveryChange = (orderId: string, version: number, deliveryStatus: 'PREPARING' | 'SHIPPED' | 'DELIVERED' | 'CANCELED'): OrderStatusChange => ({
  source: 'delivery',
  orderId,
  version,
  at: new Date(Date.UTC(2026, 10, 30, 10, 2, version)).toISOString(),
  set: { deliveryStatus },
})

/** One suite for every store of the order-status view (PostgreSQL, PGlite, MariaDB). */
export function orderStatusStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`order-status store on ${name}`, () => {
    it('assembles one row from three sources, each writing only its own columns', async () => {
      const { store, apply } = await open()
      const id = uniqueOrderId()
      await apply([paymentChange(id, 1, 'PAID')])
      await apply([deliveryChange(id, 1, 'PREPARING')])
      await apply([orderChange(id, 2, 'PAID')])
      expect(await store.get(id)).toEqual({
        orderId: id,
        customerId: 'c1',
        total: 3000,
        orderStatus: 'PAID',
        paymentStatus: 'PAID',
        deliveryStatus: 'PREPARING',
        shippingAddress: '1 Main St',
        updatedAt: '2026-11-30T10:02:01.000Z',
      })
    })

    it('never lets an older version of a source roll its columns back', async () => {
      const { store, apply } = await open()
      const id = uniqueOrderId()
      await apply([orderChange(id, 3, 'SHIPPED', { shippingAddress: 'new' }), paymentChange(id, 2, 'REFUNDED')])
      await apply([orderChange(id, 1, 'PLACED', { shippingAddress: 'old' }), orderChange(id, 2, 'PAID'), paymentChange(id, 1, 'PAID'), orderChange(id, 3, 'PLACED')])
      expect(await store.get(id)).toMatchObject({ orderStatus: 'SHIPPED', shippingAddress: 'new', paymentStatus: 'REFUNDED' })
    })

    it('applies a batch holding one order several times as if one by one', async () => {
      const { store, apply } = await open()
      const id = uniqueOrderId()
      await apply([orderChange(id, 1, 'PLACED'), deliveryChange(id, 2, 'SHIPPED'), orderChange(id, 3, 'SHIPPED'), deliveryChange(id, 1, 'PREPARING'), orderChange(id, 2, 'PAID')])
      expect(await store.get(id)).toMatchObject({ orderStatus: 'SHIPPED', deliveryStatus: 'SHIPPED', paymentStatus: null })
    })

    it('takes concurrent first events of three sources without a duplicate key or a lost column', async () => {
      const { store, another } = await open()
      const consumers = await Promise.all([another(), another(), another()])
      const ids = Array.from({ length: 150 }, uniqueOrderId)
      await Promise.all([
        Promise.all(ids.map((id) => consumers[0]!.apply([orderChange(id, 1, 'PLACED')]))),
        Promise.all(ids.map((id) => consumers[1]!.apply([paymentChange(id, 1, 'PAID')]))),
        Promise.all(ids.map((id) => consumers[2]!.apply([deliveryChange(id, 1, 'PREPARING')]))),
      ])
      for (const id of ids) expect(await store.get(id)).toMatchObject({ orderStatus: 'PLACED', paymentStatus: 'PAID', deliveryStatus: 'PREPARING', customerId: 'c1' })
    })

    it("lists a customer's orders, newest first", async () => {
      const { store, apply } = await open()
      const customerId = `cust-${uniqueOrderId().slice(-12)}`
      const ids = [uniqueOrderId(), uniqueOrderId(), uniqueOrderId()]
      await apply(ids.map((id) => orderChange(id, 1, 'PLACED', { customerId })))
      expect((await store.byCustomer(customerId)).map((v) => v.orderId)).toEqual([...ids].reverse())
      expect(await store.get(uniqueOrderId())).toBeUndefined()
    })
  })
}

/** A PostgreSQL/PGlite store's `apply` runs in the consumer's transaction. */
export function inTransaction(db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> }, store: OrderStatusStore) {
  return (changes: OrderStatusChange[]) => db.transaction((tx) => store.apply(tx, changes))
}
