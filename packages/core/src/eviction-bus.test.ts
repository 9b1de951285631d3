import { describe, expect, it } from 'vitest'
import { ValidationFailed } from './errors'
import { EvictionBusClosed, EvictionSubscribers, evictionProblems, inProcessEvictionBus, toEviction, type Eviction } from './eviction-bus'
import type { Logger } from './handlers'

function recordingLogger(): Logger & { errors: Array<{ obj: object; msg?: string }> } {
  const errors: Array<{ obj: object; msg?: string }> = []
  return { info: () => {}, warn: () => {}, error: (obj, msg) => errors.push({ obj, msg }), errors }
}

describe('toEviction', () => {
  it('copies exactly the fields of an eviction, frozen', () => {
    const ids = ['p1', 'p2']
    const progress = [{ source: 'board.post#0', position: '12-3', extra: 'dropped' }]
    const eviction = toEviction({ topic: 'posts', ids, progress, other: true })
    expect(eviction).toStrictEqual({ topic: 'posts', ids: ['p1', 'p2'], progress: [{ source: 'board.post#0', position: '12-3' }] })
    ids.push('p3')
    expect(eviction.ids).toEqual(['p1', 'p2'])
    expect(Object.isFrozen(eviction) && Object.isFrozen(eviction.ids) && Object.isFrozen(eviction.progress![0])).toBe(true)
    expect(toEviction({ topic: 'posts', ids: [] })).toStrictEqual({ topic: 'posts', ids: [] })
    // A rebuild's "every document of the topic"; `all: false` is the same as leaving it out.
    expect(toEviction({ topic: 'posts', ids: [], all: true })).toStrictEqual({ topic: 'posts', ids: [], all: true })
    expect(toEviction({ topic: 'posts', ids: [], all: false })).toStrictEqual({ topic: 'posts', ids: [] })
  })

  it('names every problem of what is not an eviction', () => {
    for (const value of [null, 'posts', 42, []]) expect(evictionProblems(value).length).toBeGreaterThan(0)
    expect(evictionProblems({ topic: '', ids: 'p1' }).map((p) => p.path)).toEqual(['topic', 'ids'])
    expect(evictionProblems({ topic: 't', ids: ['a', 1] }).map((p) => p.path)).toEqual(['ids.1'])
    expect(evictionProblems({ topic: 't', ids: [], progress: {} }).map((p) => p.path)).toEqual(['progress'])
    expect(evictionProblems({ topic: 't', ids: [], progress: [{ source: '', position: 1 }, null] }).map((p) => p.path)).toEqual([
      'progress.0.source',
      'progress.0.position',
      'progress.1.source',
      'progress.1.position',
    ])
    expect(evictionProblems({ topic: 't', ids: [], all: 'yes' }).map((p) => p.path)).toEqual(['all'])
    expect(() => toEviction({ topic: 't' })).toThrow(ValidationFailed)
  })
})

describe('EvictionSubscribers', () => {
  it('delivers to the topic in subscription order, logs a failing listener and still delivers to the rest', () => {
    const logger = recordingLogger()
    const subscribers = new EvictionSubscribers(logger)
    const seen: string[] = []
    subscribers.add('posts', () => seen.push('first'), () => seen.push('reset first'))
    subscribers.add('posts', () => {
      throw new Error('listener bug')
    }, () => {
      throw new Error('reset bug')
    })
    subscribers.add('posts', () => seen.push('third'), () => seen.push('reset third'))
    subscribers.add('members', () => seen.push('members'), () => seen.push('reset members'))
    subscribers.deliver(toEviction({ topic: 'posts', ids: ['p1'] }))
    expect(seen).toEqual(['first', 'third'])
    subscribers.reset()
    expect(seen).toEqual(['first', 'third', 'reset first', 'reset third', 'reset members'])
    expect(logger.errors.map((e) => e.msg)).toEqual(['eviction listener failed', 'eviction reset listener failed'])
    expect(() => subscribers.add('', () => {}, () => {})).toThrow(RangeError)
  })

  it('finishes a delivery as it began when a listener unsubscribes another one meanwhile', () => {
    const subscribers = new EvictionSubscribers()
    const seen: string[] = []
    let unsubscribeSecond = (): void => {}
    const unsubscribeFirst = subscribers.add('posts', () => {
      seen.push('first')
      unsubscribeSecond()
    }, () => {})
    unsubscribeSecond = subscribers.add('posts', () => seen.push('second'), () => {})
    const eviction = toEviction({ topic: 'posts', ids: [] })
    subscribers.deliver(eviction)
    subscribers.deliver(eviction)
    unsubscribeFirst()
    unsubscribeFirst()
    subscribers.deliver(eviction)
    expect(seen).toEqual(['first', 'second', 'first'])
  })
})

describe('inProcessEvictionBus', () => {
  it('has run every listener when publish resolves, and refuses what is not an eviction', async () => {
    const bus = inProcessEvictionBus()
    const seen: Eviction[] = []
    bus.subscribe('posts', (e) => seen.push(e), () => {})
    await bus.publish({ topic: 'posts', ids: ['p1'] })
    expect(seen).toEqual([{ topic: 'posts', ids: ['p1'] }])
    await expect(bus.publish({ topic: 'posts', ids: [7] } as unknown as Eviction)).rejects.toBeInstanceOf(ValidationFailed)
    expect(seen).toHaveLength(1)
  })

  it('delivers nothing once closed and refuses to publish', async () => {
    const bus = inProcessEvictionBus()
    const seen: Eviction[] = []
    bus.subscribe('posts', (e) => seen.push(e), () => {})
    await bus.close()
    await expect(bus.publish({ topic: 'posts', ids: ['p1'] })).rejects.toBeInstanceOf(EvictionBusClosed)
    bus.subscribe('posts', (e) => seen.push(e), () => {})()
    expect(seen).toEqual([])
  })
})
