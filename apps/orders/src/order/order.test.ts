import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { cancelOrder, changeShippingAddress, delivered, OrderAlreadyShipped, OrderClosed, paymentCompleted, paymentFailed, placeOrder, releaseForShipping, type Order } from './order'

const now = new Date('2026-11-30T10:00:00.000Z')
const placed = (): Order => placeOrder({ orderId: 'o1', customerId: 'c1', items: [{ sku: 'a', qty: 2, unitPrice: 150 }, { sku: 'b', qty: 1, unitPrice: 99 }], shippingAddress: 'here', now }).state

describe('order decisions', () => {
  it('placing totals the items and records the full state', () =>
    given({ orderId: 'o1', customerId: 'c1', items: [{ sku: 'a', qty: 2, unitPrice: 150 }], shippingAddress: 'here', now }).when(placeOrder).thenExpect(({ state, events }) => {
      expect(state).toMatchObject({ total: 300, status: 'PLACED', version: 1 })
      expect(events).toEqual([{ type: 'orders.OrderPlaced.v1', key: 'o1', version: 1, data: state }])
    }))

  it('moves along PLACED → PAID → SHIPPED → DELIVERED, and ignores reports that no longer apply', () => {
    const paid = paymentCompleted(placed(), now).state
    expect(paid).toMatchObject({ status: 'PAID', version: 2 })
    expect(paymentCompleted(paid, now).events).toEqual([])
    const sent = releaseForShipping(paid, now).state
    expect(sent.status).toBe('SHIPPED')
    expect(releaseForShipping(sent, now).events).toEqual([])
    expect(delivered(sent, now).state.status).toBe('DELIVERED')
    expect(paymentFailed(paid, now).events).toEqual([])
  })

  it('cancels and changes the address only before shipping', () => {
    expect(cancelOrder(placed(), now).state.status).toBe('CANCELED')
    expect(changeShippingAddress(paymentCompleted(placed(), now).state, 'there', now).state.shippingAddress).toBe('there')
    const sent = releaseForShipping(paymentCompleted(placed(), now).state, now).state
    given(sent).when((o) => cancelOrder(o, now)).thenThrows(OrderAlreadyShipped, 'ORDER_ALREADY_SHIPPED')
    given(sent).when((o) => changeShippingAddress(o, 'there', now)).thenThrows(OrderAlreadyShipped, 'ORDER_ALREADY_SHIPPED')
    given(paymentFailed(placed(), now).state).when((o) => cancelOrder(o, now)).thenThrows(OrderClosed, 'ORDER_CLOSED')
  })

  it("a shipment request is the order's to allow: an open order ships, a canceled or failed one never does", () => {
    // A delivery exists only for a completed payment: a request before the order heard of it still ships.
    expect(releaseForShipping(placed(), now).state.status).toBe('SHIPPED')
    const canceled = cancelOrder(placed(), now).state
    expect(releaseForShipping(canceled, now)).toEqual({ state: canceled, events: [] })
    expect(releaseForShipping(paymentFailed(placed(), now).state, now).events).toEqual([])
    // Whichever the order decides first wins: after the release a cancel is refused.
    given(releaseForShipping(placed(), now).state).when((o) => cancelOrder(o, now)).thenThrows(OrderAlreadyShipped)
  })

  it('a second cancel changes nothing and records nothing', () => {
    const canceled = cancelOrder(placed(), now).state
    expect(cancelOrder(canceled, now)).toEqual({ state: canceled, events: [] })
  })
})
