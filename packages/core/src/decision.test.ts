import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { decide, type Decision } from './decision'
import { event, type Event } from './envelope'

type Counted = Event<'test.Counted.v1', { by: number; version: number }>

interface Counter {
  id: string
  value: number
  version: number
}

/** A tiny pure decision, shaped the way domain code uses decide(). */
function count(state: Counter, by: number): Decision<Counter, Counted> {
  if (by <= 0) throw new RangeError('by must be positive')
  const next = { ...state, value: state.value + by, version: state.version + 1 }
  return decide(next, event<Counted>('test.Counted.v1', state.id, { by, version: next.version }))
}

describe('decide()', () => {
  it('returns the state and the events in the order given', () => {
    const a = event('x.A.v1', 'k', {})
    const b = event('x.B.v1', 'k', {})
    const c = event('x.C.v1', 'k', {})
    const decision = decide({ n: 1 }, a, b, c)
    expect(decision.state).toStrictEqual({ n: 1 })
    expect(decision.events).toEqual([a, b, c])
    expect(decision.events[0]).toBe(a)
  })

  it('returns no events when none are recorded', () => {
    expect(decide('unchanged')).toStrictEqual({ state: 'unchanged', events: [] })
  })

  it('keeps the state by reference', () => {
    const state = { n: 1 }
    expect(decide(state).state).toBe(state)
  })

  it('reads as a sentence in a given/when/then test', () => {
    given<Counter>({ id: 'c1', value: 1, version: 1 })
      .when((counter) => count(counter, 2))
      .thenExpect(({ state, events }) => {
        expect(state).toStrictEqual({ id: 'c1', value: 3, version: 2 })
        expect(events).toStrictEqual([{ type: 'test.Counted.v1', key: 'c1', version: 2, data: { by: 2, version: 2 } }])
      })
  })

  it('lets a refused decision be asserted with thenThrows', () => {
    given<Counter>({ id: 'c1', value: 1, version: 1 })
      .when((counter) => count(counter, 0))
      .thenThrows(RangeError)
  })
})
