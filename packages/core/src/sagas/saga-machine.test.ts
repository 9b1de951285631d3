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
const reply = (type: string, data: unknown = {}): Envelope => ({ id: type, type, source: 'x', key: 'k', occurredAt: '', data, meta: {} })
const sent = (t: SagaTransition<Trip> | undefined) => t?.send.map((c) => c.type)

/** Applies replies in turn from the start. */
function after(...types: string[]): SagaInstance<Trip> {
  let instance = machine.begin('s1', { trip: 't', booked: [] }).instance
  for (const type of types) instance = machine.reply(instance, reply(type))!.instance
  return instance
}

describe('a saga definition', () => {
  it('reads as the flow: begin sends the first step with its timeout', () => {
    const begun = machine.begin('s1', { trip: 't', booked: [] })
    expect(begun.instance).toEqual({ id: 's1', type: 'travel.trip', status: 'RUNNING', state: { trip: 't', booked: [] }, step: 0, attempt: 1 })
    expect(begun.send).toEqual([{ type: 'flight.Book', data: { trip: 't' } }])
    expect(begun.timers).toEqual([{ kind: 'step_timeout', step: 0, attempt: 1, dueInMs: 2_000 }])
  })

  it('completes after the last reply, with the completed event and no timers', () => {
    const done = machine.reply(after('flight.Booked', 'hotel.Booked'), reply('car.Booked'))!
    expect(done.instance).toMatchObject({ status: 'COMPLETED', state: { booked: ['flight', 'hotel', 'car'] } })
    expect(sent(done)).toEqual(['travel.TripBooked'])
    expect(done.timers).toEqual([])
  })

  it('compensates the done steps last first when a step is refused, not the refused one', () => {
    let t = machine.reply(after('flight.Booked', 'hotel.Booked'), reply('car.Refused', { why: 'no cars' }))!
    expect(t.instance).toMatchObject({ status: 'COMPENSATING', step: 1, reason: 'no cars' })
    expect(sent(t)).toEqual(['hotel.Cancel'])
    t = machine.reply(t.instance, reply('hotel.Cancelled'))!
    expect(sent(t)).toEqual(['flight.Cancel'])
    t = machine.reply(t.instance, reply('flight.Cancelled'))!
    expect(t.instance.status).toBe('COMPENSATED')
  })

  it('compensates a step that timed out too (its effect is unknown)', () => {
    const t = machine.timer(after('flight.Booked'), { kind: 'step_timeout', step: 1, attempt: 1 })!
    expect(t.instance).toMatchObject({ status: 'COMPENSATING', step: 1, reason: 'hotel timed out' })
    expect(sent(t)).toEqual(['hotel.Cancel'])
  })

  it('ignores what it is not waiting for: a reply of another step, a stale timer, a reply after the end', () => {
    const waiting = after('flight.Booked')
    expect(machine.reply(waiting, reply('flight.Booked'))).toBeUndefined()
    expect(machine.timer(waiting, { kind: 'step_timeout', step: 0, attempt: 1 })).toBeUndefined()
    expect(machine.timer(waiting, { kind: 'compensation_timeout', step: 1, attempt: 1 })).toBeUndefined()
    const done = after('flight.Booked', 'hotel.Booked', 'car.Booked')
    expect(machine.reply(done, reply('car.Refused', { why: 'late' }))).toBeUndefined()
    expect(machine.timer(done, { kind: 'step_timeout', step: 2, attempt: 1 })).toBeUndefined()
    expect(machine.retry(done)).toBeUndefined()
  })

  it('resends a failed compensation after a backoff, then parks the saga FAILED; a retry starts over', () => {
    const compensating = machine.reply(after('flight.Booked'), reply('hotel.Refused', { why: 'full' }))!.instance
    const failedOnce = machine.reply(compensating, reply('flight.CancelFailed'))!
    expect(failedOnce.instance).toMatchObject({ status: 'COMPENSATING', step: 0, attempt: 2 })
    expect(failedOnce.send).toEqual([])
    expect(failedOnce.timers).toEqual([{ kind: 'resend', step: 0, attempt: 2, dueInMs: expect.any(Number) }])
    const resent = machine.timer(failedOnce.instance, { kind: 'resend', step: 0, attempt: 2 })!
    expect(sent(resent)).toEqual(['flight.Cancel'])
    expect(resent.timers).toEqual([{ kind: 'compensation_timeout', step: 0, attempt: 2, dueInMs: 30_000 }])
    const parked = machine.timer(resent.instance, { kind: 'compensation_timeout', step: 0, attempt: 2 })!
    expect(parked.instance.status).toBe('FAILED')
    expect(parked.parked?.reason).toBe('flight could not be undone after 2 attempts (no reply in time)')
    const retried = machine.retry(parked.instance)!
    expect(retried.instance).toMatchObject({ status: 'COMPENSATING', step: 0, attempt: 1 })
    expect(sent(retried)).toEqual(['flight.Cancel'])
  })

  it('refuses a definition that cannot run, and durations that mean nothing', () => {
    const a = () => step('a').invoke(() => command('A', {})).onReply('A.Done')
    expect(() => saga({ name: 'x', steps: [a(), a()] })).toThrow('two steps named a')
    expect(() => saga({ name: 'x', steps: [step('a').onReply('A')] })).toThrow('step a sends nothing')
    expect(() => saga({ name: 'x', steps: [step('a').invoke(() => command('A', {}))] })).toThrow('step a expects no reply')
    expect([durationMs('250ms'), durationMs('30s'), durationMs('5m'), durationMs('1h'), durationMs(7)]).toEqual([250, 30_000, 300_000, 3_600_000, 7])
    expect(() => durationMs('5 minutes' as never)).toThrow('not a duration')
    expect(() => durationMs(0)).toThrow('positive')
  })
})
