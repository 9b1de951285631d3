import { afterEach, describe, expect, it, vi } from 'vitest'
import { manualClock, systemClock } from './clock'

describe('manualClock', () => {
  it('starts at 2026-01-01T00:00:00.000Z by default', () => {
    expect(manualClock().now().toISOString()).toBe('2026-01-01T00:00:00.000Z')
  })

  it('starts at a given ISO string', () => {
    expect(manualClock('2030-05-06T07:08:09.010Z').now().toISOString()).toBe('2030-05-06T07:08:09.010Z')
  })

  it('starts at a given Date', () => {
    expect(manualClock(new Date(Date.UTC(2024, 1, 29))).now().toISOString()).toBe('2024-02-29T00:00:00.000Z')
  })

  it('does not move on its own', () => {
    const clock = manualClock()
    const first = clock.now().getTime()
    for (let i = 0; i < 1000; i++) expect(clock.now().getTime()).toBe(first)
  })

  it('moves forward by advance(ms)', () => {
    const clock = manualClock('2026-01-01T00:00:00.000Z')
    clock.advance(1500)
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.500Z')
    clock.advance(24 * 60 * 60 * 1000)
    expect(clock.now().toISOString()).toBe('2026-01-02T00:00:01.500Z')
  })

  it('moves backwards by a negative advance', () => {
    const clock = manualClock('2026-01-01T00:00:00.000Z')
    clock.advance(-1)
    expect(clock.now().toISOString()).toBe('2025-12-31T23:59:59.999Z')
  })

  it('jumps to a time given to set(), as a string or a Date', () => {
    const clock = manualClock()
    clock.set('2027-03-04T05:06:07.000Z')
    expect(clock.now().toISOString()).toBe('2027-03-04T05:06:07.000Z')
    clock.set(new Date('2020-01-01T00:00:00.000Z'))
    expect(clock.now().toISOString()).toBe('2020-01-01T00:00:00.000Z')
    clock.advance(10)
    expect(clock.now().toISOString()).toBe('2020-01-01T00:00:00.010Z')
  })

  it('hands out a fresh Date each time, so a caller mutating it cannot move the clock', () => {
    const clock = manualClock('2026-01-01T00:00:00.000Z')
    const seen = clock.now()
    seen.setUTCFullYear(1999)
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z')
    expect(clock.now()).not.toBe(clock.now())
  })

  it('does not keep the Date it was started with', () => {
    const start = new Date('2026-01-01T00:00:00.000Z')
    const clock = manualClock(start)
    start.setUTCFullYear(1999)
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z')
  })

  it('keeps separate clocks apart', () => {
    const a = manualClock()
    const b = manualClock()
    a.advance(1000)
    expect(b.now().getTime()).toBe(a.now().getTime() - 1000)
  })
})

describe('systemClock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('tells the current time', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2031-07-08T09:10:11.012Z'))
    expect(systemClock.now().toISOString()).toBe('2031-07-08T09:10:11.012Z')
    vi.setSystemTime(new Date('2031-07-08T09:10:12.000Z'))
    expect(systemClock.now().toISOString()).toBe('2031-07-08T09:10:12.000Z')
  })
})

describe('fixed defects', () => {
  // An unreadable start or set() silently gives a clock stuck at Invalid Date, and every test using it
  // then fails far from the typo (toISOString throws RangeError at the first use).
  it('refuses an unreadable start time', () => {
    expect(() => manualClock('2026-13-45')).toThrow()
  })
})
