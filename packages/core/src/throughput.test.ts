import { describe, expect, it } from 'vitest'
import { Throughput } from './throughput'

describe('Throughput', () => {
  it('is zero before anything is recorded', () => {
    expect(new Throughput(10).perSecond(5_000)).toBe(0)
  })

  it('averages what was recorded over the window', () => {
    const meter = new Throughput(10)
    for (let s = 0; s < 10; s++) meter.record(30, 1_000_000 + s * 1000 + 500)
    expect(meter.perSecond(1_009_900)).toBe(30)
  })

  it('forgets seconds that left the window, also when a slot is reused', () => {
    const meter = new Throughput(4)
    meter.record(100, 0)
    meter.record(8, 2_000)
    expect(meter.perSecond(3_999)).toBe(27)
    expect(meter.perSecond(4_000)).toBe(2) // second 0 has left the window
    meter.record(4, 4_000) // second 4 reuses second 0's slot
    expect(meter.perSecond(4_500)).toBe(3)
    expect(meter.perSecond(60_000)).toBe(0)
  })
})
