import { afterEach, describe, expect, it, vi } from 'vitest'
import { defaultRetryPolicy, isExhausted, retryDelayMs, type RetryPolicy } from './retry-policy'

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 30_000 }
/** The largest double below 1: Math.random() never returns 1 itself. */
const ALMOST_ONE = 1 - Number.EPSILON / 2

describe('defaultRetryPolicy', () => {
  it('makes 5 attempts, starting at 100 ms, never waiting more than 30 s', () => {
    expect(defaultRetryPolicy).toStrictEqual({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 30_000 })
  })
})

describe('retryDelayMs', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('waits half the ceiling with random = 0: 50, 100, 200, 400, 800 ms', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt, 0))).toEqual([50, 100, 200, 400, 800])
  })

  it('waits the full ceiling with random close to 1: 100, 200, 400, 800, 1600 ms', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt, ALMOST_ONE))).toEqual([100, 200, 400, 800, 1600])
  })

  it('waits three quarters of the ceiling with random = 0.5', () => {
    expect(retryDelayMs(policy, 3, 0.5)).toBe(300)
  })

  it('doubles the delay with every attempt until the cap', () => {
    for (let attempt = 1; attempt < 9; attempt++) {
      expect(retryDelayMs(policy, attempt + 1, 0)).toBe(2 * retryDelayMs(policy, attempt, 0))
    }
  })

  it('never waits more than maxDelayMs, however many attempts failed', () => {
    for (let attempt = 1; attempt <= 100; attempt++) {
      expect(retryDelayMs(policy, attempt, ALMOST_ONE)).toBeLessThanOrEqual(policy.maxDelayMs)
    }
    expect(retryDelayMs(policy, 9, ALMOST_ONE)).toBe(25_600)
    expect(retryDelayMs(policy, 10, ALMOST_ONE)).toBe(30_000)
    expect(retryDelayMs(policy, 10, 0)).toBe(15_000)
    expect(retryDelayMs(policy, 50, 0)).toBe(15_000)
  })

  it('stays finite and capped when 2^attempt overflows to Infinity', () => {
    expect(2 ** 5000).toBe(Infinity)
    expect(retryDelayMs(policy, 5000, 0)).toBe(15_000)
    expect(retryDelayMs(policy, 5000, ALMOST_ONE)).toBe(30_000)
  })

  it('caps at maxDelayMs even when it is below baseDelayMs', () => {
    expect(retryDelayMs({ maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 200 }, 1, ALMOST_ONE)).toBe(200)
    expect(retryDelayMs({ maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 200 }, 1, 0)).toBe(100)
  })

  it('treats attempt 0 or below like attempt 1', () => {
    expect(retryDelayMs(policy, 0, 0)).toBe(50)
    expect(retryDelayMs(policy, -3, ALMOST_ONE)).toBe(100)
  })

  it('keeps every jittered delay between half the ceiling and the ceiling, growing with random', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
      let previous = -1
      for (let i = 0; i < 100; i++) {
        const delay = retryDelayMs(policy, attempt, i / 100)
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2)
        expect(delay).toBeLessThanOrEqual(ceiling)
        expect(delay).toBeGreaterThanOrEqual(previous)
        expect(Number.isInteger(delay)).toBe(true)
        previous = delay
      }
    }
  })

  it('rounds to whole milliseconds', () => {
    expect(retryDelayMs({ maxAttempts: 3, baseDelayMs: 3, maxDelayMs: 1000 }, 1, 0)).toBe(2)
    expect(retryDelayMs({ maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 1000 }, 1, 0.33)).toBe(7)
  })

  it('draws the jitter from Math.random when none is given', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0)
    expect(retryDelayMs(policy, 4)).toBe(400)
    random.mockReturnValue(ALMOST_ONE)
    expect(retryDelayMs(policy, 4)).toBe(800)
    expect(random).toHaveBeenCalledTimes(2)
  })

  it('spreads delays when Math.random does', () => {
    const delays = new Set(Array.from({ length: 200 }, () => retryDelayMs(policy, 8)))
    expect(delays.size).toBeGreaterThan(50)
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(6400)
      expect(delay).toBeLessThanOrEqual(12_800)
    }
  })
})

describe('isExhausted', () => {
  it('is false while fewer attempts than maxAttempts were made', () => {
    expect([0, 1, 2, 3, 4].map((attempts) => isExhausted(policy, attempts))).toEqual([false, false, false, false, false])
  })

  it('is true once maxAttempts attempts were made, and after', () => {
    expect(isExhausted(policy, 5)).toBe(true)
    expect(isExhausted(policy, 6)).toBe(true)
    expect(isExhausted(policy, 1000)).toBe(true)
  })

  it('gives up after the first attempt when maxAttempts is 1', () => {
    expect(isExhausted({ ...policy, maxAttempts: 1 }, 0)).toBe(false)
    expect(isExhausted({ ...policy, maxAttempts: 1 }, 1)).toBe(true)
  })
})
