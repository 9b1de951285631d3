import { describe, expect, it } from 'vitest'
import { count, rate, seconds, time } from './format'

describe('console formatting', () => {
  it('shortens durations to one unit', () => {
    expect([0, 0.25, 9.96, 42.4, 600, 10_800, 604_800].map(seconds)).toEqual(['0 s', '0.3 s', '10.0 s', '42 s', '10 min', '3 h', '7 d'])
  })

  it('groups counts and rates', () => {
    expect(count(1234567)).toBe('1,234,567')
    expect([0, 2.34, 1234.6].map(rate)).toEqual(['0/s', '2.3/s', '1,235/s'])
  })

  it('shows UTC times without the zone letter, and a dash for none', () => {
    expect(time('2026-11-30T05:12:09.123Z')).toBe('2026-11-30 05:12:09')
    expect(time(null)).toBe('—')
  })
})
