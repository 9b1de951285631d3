import { describe, expect, it } from 'vitest'
import { cancel, confirm, expire, hold, withdraw, type HeldPerformance } from './reservation'

const performance: HeldPerformance = { performanceId: 'p', concertId: 'c', startsAt: '2030-01-01T19:00:00.000Z', seatCount: 50, price: 50_000 }
const now = new Date('2029-12-01T10:00:00.000Z')
const later = (ms: number) => new Date(now.getTime() + ms)
const held = hold('r', performance, 7, 'alice', now, 300_000).state

describe('a reservation', () => {
  it('holds a seat of the performance at its price, until the hold expires', () => {
    const { state, events } = hold('r', performance, 7, 'alice', now, 300_000)
    expect(state).toMatchObject({ status: 'HELD', seatNo: 7, price: 50_000, memberId: 'alice', holdExpiresAt: '2029-12-01T10:05:00.000Z', paymentId: null, version: 1 })
    expect(events.map((e) => [e.type, e.key])).toEqual([['concert.SeatHeld.v1', 'r']])
  })

  it('refuses a seat that does not exist, and a performance that has begun', () => {
    for (const seat of [0, 51, 1.5]) expect(() => hold('r', performance, seat, 'alice', now, 1)).toThrow(expect.objectContaining({ code: 'SEAT_NOT_FOUND' }))
    expect(() => hold('r', performance, 1, 'alice', new Date(performance.startsAt), 1)).toThrow(expect.objectContaining({ code: 'PERFORMANCE_STARTED' }))
  })

  it('is confirmed by its holder’s payment while held, once; refused after expiry, for anyone else, or when sold', () => {
    const confirmed = confirm(held, 'alice', 'pay-1', later(1_000))
    if (typeof confirmed === 'string') throw new Error(confirmed)
    expect(confirmed.state).toMatchObject({ status: 'CONFIRMED', paymentId: 'pay-1', version: 2 })
    expect(confirm(confirmed.state, 'alice', 'pay-1', later(1_000))).toEqual({ state: confirmed.state, events: [] })
    expect(confirm(confirmed.state, 'alice', 'pay-2', later(1_000))).toBe('RESERVATION_NOT_HELD')
    expect(confirm(held, 'mallory', 'pay-3', later(1_000))).toBe('RESERVATION_NOT_HELD')
    expect(confirm(held, 'alice', 'pay-4', later(300_000))).toBe('RESERVATION_EXPIRED')
  })

  it('expires only while held and past its time: a sold seat is never freed by a timer', () => {
    expect(expire(held, later(299_999))).toBeUndefined()
    expect(expire(held, later(300_000))?.state.status).toBe('EXPIRED')
    const sold = confirm(held, 'alice', 'pay-1', later(1)) as Exclude<ReturnType<typeof confirm>, string>
    expect(expire(sold.state, later(10 * 300_000))).toBeUndefined()
  })

  it('is canceled by its holder, once: held at any time, sold before the performance (its sale canceled, to be refunded)', () => {
    const canceled = cancel(held, performance.startsAt, now)
    expect([canceled.state.status, canceled.events[0]!.type]).toEqual(['CANCELED', 'concert.ReservationCanceled.v1'])
    expect(() => cancel(canceled.state, performance.startsAt, now)).toThrow(expect.objectContaining({ code: 'RESERVATION_ALREADY_CANCELED' }))
    expect(() => cancel(expire(held, later(300_000))!.state, performance.startsAt, now)).toThrow(expect.objectContaining({ code: 'RESERVATION_NOT_HELD' }))
    const sold = (confirm(held, 'alice', 'pay-1', later(1)) as Exclude<ReturnType<typeof confirm>, string>).state
    const unsold = cancel(sold, performance.startsAt, later(2))
    expect([unsold.state.status, unsold.state.paymentId, unsold.events[0]!.type]).toEqual(['CANCELED', 'pay-1', 'concert.SaleCanceled.v1'])
    expect(() => cancel(sold, performance.startsAt, new Date(performance.startsAt))).toThrow(expect.objectContaining({ code: 'PERFORMANCE_STARTED' }))
  })

  it('is given back by a payment that withdraws its own confirmation, and only its own', () => {
    const sold = (confirm(held, 'alice', 'pay-1', later(1)) as Exclude<ReturnType<typeof confirm>, string>).state
    expect(withdraw(sold, 'pay-2')).toBeUndefined()
    expect(withdraw(held, 'pay-1')).toBeUndefined()
    expect(withdraw(sold, 'pay-1')?.state.status).toBe('CANCELED')
  })
})
