import { describe, expect, it } from 'vitest'
import type { Envelope } from '../envelope'
import { command, durationMs, fail, saga, step } from './saga'
import { SagaMachine, type SagaInstance, type SagaTransition } from './saga-machine'

interface Trip {
  trip: string
  booked: string[]
}

const undo = (what: string) => ({ reply: `${what}.Cancelled`, failure: `${what}.CancelFailed` })
const book = (what: string) =>
  step<Trip>(what)
    .invoke((t) => command(`${what}.Book`, { trip: t.trip }))
    .onReply(`${what}.Booked`, (t) => ({ ...t, booked: [...t.booked, what] }))
    .onReply(`${what}.Refused`, (t, reply) => fail(t, (reply.data as { why: string }).why))
    .compensate((t) => command(`${what}.Cancel`, { trip: t.trip }), undo(what))
    .timeout('2s')

const trip = saga<Trip>({
  name: 'travel.trip',
  steps: [book('flight'), book('hotel'), book('car')],
  completed: (t) => command('travel.TripBooked', t),
  compensationRetry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 },
})
const machine = new SagaMachine(trip)
let commands = 0
/** What the runner does with a transition: the awaited command gets an id, and the instance waits for it. */
const stored = (t: SagaTransition<Trip>): SagaInstance<Trip> => ({ ...t.instance, ...(t.command ? { awaiting: `cmd-${++commands}` } : {}) })
/** A reply to the command the instance awaits (or to `to`). */
const reply = (type: string, data: unknown = {}, to?: string) => (instance: SagaInstance<Trip>): Envelope => ({
  id: type,
  type,
  source: 'x',
  key: 'k',
  occurredAt: '',
  data,
  meta: { causationId: to ?? instance.awaiting! },
})
const answer = (instance: SagaInstance<Trip>, type: string, data?: unknown) => machine.reply(instance, reply(type, data)(instance))
const sent = (t: SagaTransition<Trip> | undefined) => [...(t?.command ? [t.command] : []), ...(t?.events ?? [])].map((c) => c.type)

/** Applies replies in turn from the start. */
function after(...types: string[]): SagaInstance<Trip> {
  let instance = stored(machine.begin('s1', { trip: 't', booked: [] }))
  for (const type of types) instance = stored(answer(instance, type)!)
  return instance
}

describe('a saga definition', () => {
  it('reads as the flow: begin sends the first step with its timeout', () => {
    const begun = machine.begin('s1', { trip: 't', booked: [] })
    expect(begun.instance).toEqual({ id: 's1', type: 'travel.trip', status: 'RUNNING', state: { trip: 't', booked: [] }, step: 0, attempt: 1 })
    expect(begun.command).toEqual({ type: 'flight.Book', data: { trip: 't' } })
    expect(begun.timers).toEqual([{ kind: 'step_timeout', step: 0, attempt: 1, dueInMs: 2_000 }])
  })

  it('completes after the last reply, with the completed event and no timers', () => {
    const done = answer(after('flight.Booked', 'hotel.Booked'), 'car.Booked')!
    expect(done.instance).toMatchObject({ status: 'COMPLETED', state: { booked: ['flight', 'hotel', 'car'] } })
    expect(sent(done)).toEqual(['travel.TripBooked'])
    expect(done.timers).toEqual([])
  })

  it('compensates the done steps last first when a step is refused, not the refused one', () => {
    let t = answer(after('flight.Booked', 'hotel.Booked'), 'car.Refused', { why: 'no cars' })!
    expect(t.instance).toMatchObject({ status: 'COMPENSATING', step: 1, reason: 'no cars' })
    expect(sent(t)).toEqual(['hotel.Cancel'])
    t = answer(stored(t), 'hotel.Cancelled')!
    expect(sent(t)).toEqual(['flight.Cancel'])
    t = answer(stored(t), 'flight.Cancelled')!
    expect(t.instance.status).toBe('COMPENSATED')
  })

  it('lets the answer that a step is undone tell the saga what it says (what was given back)', () => {
    const refunds = saga<{ paid: number; refunded?: number }>({
      name: 'shop.pay',
      steps: [
        step<{ paid: number; refunded?: number }>('debit')
          .invoke(() => command('wallet.Debit', {}))
          .onReply('wallet.Debited')
          .compensate(() => command('wallet.Refund', {}), { reply: 'wallet.RefundSettled', settled: (p, r) => ({ ...p, refunded: (r.data as { refunded: number }).refunded }) }),
        step<{ paid: number; refunded?: number }>('ship').invoke(() => command('shop.Ship', {})).onReply('shop.Shipped').onReply('shop.Refused', (p) => fail(p, 'no stock')).nothingToUndo(),
      ],
    })
    const m = new SagaMachine(refunds)
    const to = (instance: SagaInstance<{ paid: number; refunded?: number }>, type: string, data: unknown = {}) => {
      const t = m.reply(instance, { id: type, type, source: 'x', key: 'k', occurredAt: '', data, meta: { causationId: instance.awaiting! } })!
      return { ...t.instance, ...(t.command ? { awaiting: `c-${type}` } : {}) }
    }
    let instance: SagaInstance<{ paid: number; refunded?: number }> = { ...m.begin('s', { paid: 70 }).instance, awaiting: 'c-0' }
    instance = to(to(to(instance, 'wallet.Debited'), 'shop.Refused'), 'wallet.RefundSettled', { refunded: 70 })
    expect(instance).toMatchObject({ status: 'COMPENSATED', state: { paid: 70, refunded: 70 } })
  })

  it('compensates a step that timed out too (its effect is unknown)', () => {
    const t = machine.timer(after('flight.Booked'), { kind: 'step_timeout', step: 1, attempt: 1 })!
    expect(t.instance).toMatchObject({ status: 'COMPENSATING', step: 1, reason: 'hotel timed out' })
    expect(sent(t)).toEqual(['hotel.Cancel'])
  })

  it('ignores what it is not waiting for: a reply to another command, of another step, a stale timer, a reply after the end', () => {
    const waiting = after('flight.Booked')
    expect(machine.reply(waiting, reply('hotel.Booked', {}, 'cmd-earlier')(waiting))).toBeUndefined()
    expect(answer(waiting, 'flight.Booked')).toBeUndefined()
    expect(answer(waiting, 'constructor')).toBeUndefined()
    expect(machine.timer(waiting, { kind: 'step_timeout', step: 0, attempt: 1 })).toBeUndefined()
    expect(machine.timer(waiting, { kind: 'compensation_timeout', step: 1, attempt: 1 })).toBeUndefined()
    const done = after('flight.Booked', 'hotel.Booked', 'car.Booked')
    expect(machine.reply(done, reply('car.Refused', { why: 'late' }, 'cmd-1')(done))).toBeUndefined()
    expect(machine.timer(done, { kind: 'step_timeout', step: 2, attempt: 1 })).toBeUndefined()
    expect(machine.retry(done)).toBeUndefined()
  })

  it('resends a failed compensation after a backoff, then parks the saga FAILED; a retry starts over', () => {
    const compensating = stored(answer(after('flight.Booked'), 'hotel.Refused', { why: 'full' })!)
    const failedOnce = answer(compensating, 'flight.CancelFailed')!
    expect(failedOnce.instance).toMatchObject({ status: 'COMPENSATING', step: 0, attempt: 2 })
    expect(sent(failedOnce)).toEqual([])
    expect(failedOnce.timers).toEqual([{ kind: 'resend', step: 0, attempt: 2, dueInMs: expect.any(Number) }])
    // A late answer to the first try changes nothing now: the saga awaits no command until it resends.
    expect(answer(stored(failedOnce), 'flight.CancelFailed')).toBeUndefined()
    const resent = machine.timer(stored(failedOnce), { kind: 'resend', step: 0, attempt: 2 })!
    expect(sent(resent)).toEqual(['flight.Cancel'])
    expect(resent.timers).toEqual([{ kind: 'compensation_timeout', step: 0, attempt: 2, dueInMs: 30_000 }])
    const parked = machine.timer(stored(resent), { kind: 'compensation_timeout', step: 0, attempt: 2 })!
    expect(parked.instance.status).toBe('FAILED')
    expect(parked.parked?.reason).toBe('flight could not be undone after 2 attempts (no reply in time)')
    const retried = machine.retry(parked.instance)!
    expect(retried.instance).toMatchObject({ status: 'COMPENSATING', step: 0, attempt: 1 })
    expect(sent(retried)).toEqual(['flight.Cancel'])
  })

  it('refuses a definition that cannot run, and durations that mean nothing', () => {
    const a = () => step('a').invoke(() => command('A', {})).onReply('A.Done').nothingToUndo()
    expect(() => saga({ name: 'x', steps: [a(), a()] })).toThrow('two steps named a')
    expect(() => saga({ name: 'x', steps: [step('a').onReply('A')] })).toThrow('step a sends nothing')
    expect(() => saga({ name: 'x', steps: [step('a').invoke(() => command('A', {}))] })).toThrow('step a expects no reply')
    expect(() => saga({ name: 'x', steps: [step('a').invoke(() => command('A', {})).onReply('A.Done')] })).toThrow('step a must say how it is undone')
    expect([durationMs('250ms'), durationMs('30s'), durationMs('5m'), durationMs('1h'), durationMs(7)]).toEqual([250, 30_000, 300_000, 3_600_000, 7])
    expect(() => durationMs('5 minutes' as never)).toThrow('not a duration')
    expect(() => durationMs(0)).toThrow('positive')
  })
})
