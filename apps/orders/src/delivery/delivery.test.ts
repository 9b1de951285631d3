import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { cancelDelivery, createDelivery, deliver, followAddress, followOrder, IllegalTransition, requestShipping, type Delivery } from './delivery'

const now = new Date('2026-11-30T10:00:00.000Z')
const known = { orderId: 'o1', address: 'here', canceled: false, version: 1 }
/** Asked the order, and the order allowed it. */
const ship = (d: Delivery, now: Date) => followOrder(requestShipping(d, now).state, { ...known, address: d.address ?? '', released: true }, now)

describe('delivery decisions', () => {
  it('a completed payment creates one delivery, to the known address', () => {
    const created = createDelivery(undefined, 'o1', known, now)!
    expect(created.state).toMatchObject({ address: 'here', status: 'PREPARING', version: 1 })
    expect(createDelivery(created.state, 'o1', known, now)).toBeUndefined()
    expect(createDelivery(undefined, 'o1', { ...known, canceled: true }, now)!.state.status).toBe('CANCELED')
    expect(createDelivery(undefined, 'o1', undefined, now)!.state.address).toBeNull()
  })

  it('follows the address until it ships, then refuses to move backwards', () => {
    const preparing = createDelivery(undefined, 'o1', known, now)!.state
    const moved = followAddress(preparing, 'there', now).state
    expect(moved.address).toBe('there')
    const shipped = ship(moved, now).state
    expect(followAddress(shipped, 'elsewhere', now).events).toEqual([])
    expect(cancelDelivery(shipped, now).events).toEqual([])
    given(shipped).when((d) => requestShipping(d, now)).thenThrows(IllegalTransition, 'ILLEGAL_TRANSITION')
    expect(deliver(shipped, now).state.status).toBe('DELIVERED')
    given(preparing).when((d) => deliver(d, now)).thenThrows(IllegalTransition, 'ILLEGAL_TRANSITION')
  })

  it('ships only when the order allows it: a request waits for the order, a cancel meanwhile stops it', () => {
    const preparing = createDelivery(undefined, 'o1', known, now)!.state
    const requested = requestShipping(preparing, now)
    expect(requested.state.status).toBe('SHIP_REQUESTED')
    expect(requested.events.map((e) => e.type)).toEqual(['orders.DeliveryShipRequested.v1'])
    expect(requestShipping(requested.state, now).events).toEqual([])
    // The order's later address change still reaches a delivery that has not left.
    expect(followOrder(requested.state, { ...known, address: 'there', released: false }, now).state).toMatchObject({ status: 'SHIP_REQUESTED', address: 'there' })
    expect(followOrder(requested.state, { ...known, address: 'there', released: true }, now).state).toMatchObject({ status: 'SHIPPED', address: 'there' })
    expect(followOrder(requested.state, { ...known, canceled: true, released: false }, now).state.status).toBe('CANCELED')
    // A release that comes to a delivery not waiting for one changes nothing.
    expect(followOrder(preparing, { ...known, released: true }, now).events).toEqual([])
  })

  it('cannot ship without an address or once canceled', () => {
    given(createDelivery(undefined, 'o1', undefined, now)!.state).when((d) => requestShipping(d, now)).thenThrows(IllegalTransition)
    given(cancelDelivery(createDelivery(undefined, 'o1', known, now)!.state, now).state).when((d) => requestShipping(d, now)).thenThrows(IllegalTransition)
  })
})
