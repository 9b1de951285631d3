import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { cancelDelivery, createDelivery, deliver, followAddress, IllegalTransition, ship } from './delivery'

const now = new Date('2026-11-30T10:00:00.000Z')
const known = { orderId: 'o1', address: 'here', canceled: false, version: 1 }

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
    given(shipped).when((d) => ship(d, now)).thenThrows(IllegalTransition, 'ILLEGAL_TRANSITION')
    expect(deliver(shipped, now).state.status).toBe('DELIVERED')
    given(preparing).when((d) => deliver(d, now)).thenThrows(IllegalTransition, 'ILLEGAL_TRANSITION')
  })

  it('cannot ship without an address or once canceled', () => {
    given(createDelivery(undefined, 'o1', undefined, now)!.state).when((d) => ship(d, now)).thenThrows(IllegalTransition)
    given(cancelDelivery(createDelivery(undefined, 'o1', known, now)!.state, now).state).when((d) => ship(d, now)).thenThrows(IllegalTransition)
  })
})
