import { describe, expect, it } from 'vitest'
import { manualClock } from '@tidings/core'
import type { QueuePass } from './queue-pass'
import { holderOf, QueuePassCache } from './queue-pass-cache'

const T0 = '2026-06-01T10:00:00.000Z'
const pass = (status: QueuePass['status'], memberId = 'm1', activeUntil: string | null = '2026-06-01T10:10:00.000Z'): QueuePass => ({ concertId: 'c1', memberId, status, activeUntil })

/** A lookup that answers `answers` in turn (the last one again) and counts its reads. */
function store(...answers: Array<QueuePass | undefined>) {
  let reads = 0
  return { read: async () => answers[Math.min(reads++, answers.length - 1)], reads: () => reads }
}

describe('kept queue passes', () => {
  it('an ACTIVE pass is read once and kept until its active time ends', async () => {
    const clock = manualClock(T0)
    const cache = new QueuePassCache(clock)
    const s = store(pass('ACTIVE'), pass('EXPIRED'))
    expect(await cache.pass('t1', s.read)).toEqual(pass('ACTIVE'))
    clock.advance(9 * 60_000)
    expect(await cache.pass('t1', s.read)).toEqual(pass('ACTIVE'))
    expect(s.reads()).toBe(1)
    clock.advance(60_000)
    expect(await cache.pass('t1', s.read)).toEqual(pass('EXPIRED'))
    expect(s.reads()).toBe(2)
  })

  it('a pass that is not ACTIVE (or none) is never kept: an admission counts at once', async () => {
    const cache = new QueuePassCache(manualClock(T0))
    const s = store(undefined, pass('WAITING', 'm1', null), pass('ACTIVE'))
    expect(await cache.pass('t1', s.read)).toBeUndefined()
    expect((await cache.pass('t1', s.read))!.status).toBe('WAITING')
    expect((await cache.pass('t1', s.read))!.status).toBe('ACTIVE')
    expect(s.reads()).toBe(3)
  })

  it('a token ended before its time (its holder left or paid) is read again at once', async () => {
    const cache = new QueuePassCache(manualClock(T0))
    const s = store(pass('ACTIVE'), pass('COMPLETED'))
    const other = store(pass('ACTIVE', 'm2'))
    await cache.pass('t1', s.read)
    await cache.pass('t2', other.read)
    cache.end([holderOf('c1', 'm1')])
    expect((await cache.pass('t1', s.read))!.status).toBe('COMPLETED')
    expect((await cache.pass('t2', other.read))!.status).toBe('ACTIVE') // another holder's stays
    expect(other.reads()).toBe(1)
    cache.clear()
    await cache.pass('t2', other.read)
    expect(other.reads()).toBe(2)
  })

  it('a pass read while an end went by is not kept, so a slow read never undoes an end', async () => {
    const cache = new QueuePassCache(manualClock(T0))
    let answer!: (p: QueuePass) => void
    const slow = cache.pass('t1', () => new Promise((resolve) => (answer = resolve)))
    cache.end([holderOf('c1', 'm1')])
    answer(pass('ACTIVE')) // read before the end committed
    expect((await slow)!.status).toBe('ACTIVE')
    const s = store(pass('COMPLETED'))
    expect((await cache.pass('t1', s.read))!.status).toBe('COMPLETED')
  })

  it('holds at most its capacity, dropping the oldest first', async () => {
    const cache = new QueuePassCache(manualClock(T0), 2)
    const s = store(pass('ACTIVE', 'm1'), pass('ACTIVE', 'm2'), pass('ACTIVE', 'm3'), pass('ACTIVE', 'm1'))
    for (const token of ['t1', 't2', 't3', 't1']) await cache.pass(token, s.read)
    expect(s.reads()).toBe(4)
  })
})
