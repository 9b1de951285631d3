import { describe, expect, it } from 'vitest'
import { AttemptLimiter } from './attempt-limiter'

const MINUTE = 60_000
const t0 = Date.parse('2030-01-01T00:00:00Z')

/** Takes attempts of `key` at `now` for as long as they are allowed (at most `max`); how many were. */
function drain(limiter: AttemptLimiter, key: string, now: number, max = 1000): number {
  let taken = 0
  while (taken < max && limiter.waitMs(key, now) === 0) {
    limiter.take(key, now)
    taken++
  }
  return taken
}

describe('AttemptLimiter', () => {
  it('allows `limit` attempts at once, then says how long until the next', () => {
    const limiter = new AttemptLimiter({ limit: 10, windowMs: 15 * MINUTE })
    expect(drain(limiter, 'ann', t0)).toBe(10)
    // One attempt is earned back every 15 min / 10 = 90 s.
    expect(limiter.waitMs('ann', t0)).toBe(90_000)
    expect(limiter.waitMs('ann', t0 + 30_000)).toBe(60_000)
    expect(limiter.waitMs('ann', t0 + 90_000)).toBe(0)
  })

  it('earns attempts back at the rate, never more than the limit', () => {
    const limiter = new AttemptLimiter({ limit: 5, windowMs: 10 * MINUTE })
    expect(drain(limiter, 'a', t0)).toBe(5)
    expect(drain(limiter, 'a', t0 + 2 * MINUTE)).toBe(1)
    expect(drain(limiter, 'a', t0 + 6 * MINUTE)).toBe(2)
    expect(drain(limiter, 'a', t0 + 365 * 24 * 60 * MINUTE)).toBe(5)
  })

  it('counts keys apart', () => {
    const limiter = new AttemptLimiter({ limit: 3, windowMs: MINUTE })
    expect(drain(limiter, 'a', t0)).toBe(3)
    expect(limiter.waitMs('a', t0)).toBeGreaterThan(0)
    expect(drain(limiter, 'b', t0)).toBe(3)
  })

  it('keeps counting attempts taken past the limit, so hammering only waits longer', () => {
    const limiter = new AttemptLimiter({ limit: 2, windowMs: MINUTE })
    drain(limiter, 'a', t0)
    limiter.take('a', t0)
    expect(limiter.waitMs('a', t0)).toBe(60_000)
  })

  it('gives an attempt back, and forgets a key on reset', () => {
    const limiter = new AttemptLimiter({ limit: 2, windowMs: MINUTE })
    drain(limiter, 'a', t0)
    limiter.giveBack('a', t0)
    expect(drain(limiter, 'a', t0)).toBe(1)
    limiter.reset('a')
    expect(drain(limiter, 'a', t0)).toBe(2)
    // Giving back to a full bucket changes nothing and remembers nothing.
    limiter.giveBack('b', t0)
    expect(drain(limiter, 'b', t0)).toBe(2)
  })

  it('forgets a key once its bucket is full again, rather than keep it for ever', () => {
    const limiter = new AttemptLimiter({ limit: 2, windowMs: MINUTE })
    limiter.take('a', t0)
    limiter.giveBack('a', t0 + 1)
    expect(limiter.size).toBe(0)
  })

  it('remembers at most maxKeys keys, dropping full buckets first, then the key touched longest ago', () => {
    // One attempt earned back every 5 minutes.
    const limiter = new AttemptLimiter({ limit: 2, windowMs: 10 * MINUTE }, 3)
    limiter.take('old', t0)
    drain(limiter, 'busy', t0)
    limiter.take('recent', t0 + 4 * MINUTE)
    // Five minutes on, "old" is full again (it says nothing): it makes room first.
    const later = t0 + 5 * MINUTE
    limiter.take('new', later)
    expect(limiter.size).toBe(3)
    expect(drain(limiter, 'busy', later)).toBe(1)
    // Now every bucket counts: the one touched longest ago ("recent") goes, the others stay.
    limiter.take('newer', later)
    expect(limiter.size).toBe(3)
    expect(limiter.waitMs('busy', later)).toBeGreaterThan(0)
    expect(drain(limiter, 'recent', later)).toBe(2)
  })

  it('stays bounded under a flood of keys', () => {
    const limiter = new AttemptLimiter({ limit: 10, windowMs: 15 * MINUTE }, 1000)
    for (let i = 0; i < 50_000; i++) limiter.take(`guess-${i}`, t0 + i)
    expect(limiter.size).toBe(1000)
  })

  it.each([
    [{ limit: 0, windowMs: MINUTE }],
    [{ limit: 1.5, windowMs: MINUTE }],
    [{ limit: 5, windowMs: 0 }],
    [{ limit: 5, windowMs: Number.NaN }],
  ])('refuses a rate that allows nothing or makes no sense: %j', (rate) => {
    expect(() => new AttemptLimiter(rate)).toThrow(RangeError)
  })
})
