import { describe, expect, it } from 'vitest'
import { rotationPlan, type RotationPolicy } from './rotation'

const policy: RotationPolicy = { rotateEveryMs: 30 * 86_400_000, publishAheadMs: 600_000, tokenTtlMs: 3_600_000 }
const t0 = Date.parse('2026-12-01T00:00:00Z')
const at = (ms: number) => new Date(t0 + ms)
const key = (kid: string, signsFromMs: number) => ({ kid, signsFrom: at(signsFromMs).toISOString() })
const DAY = 86_400_000

describe('key rotation', () => {
  it('makes the first key to sign at once', () => {
    expect(rotationPlan([], at(0), policy)).toEqual({ spent: [], nextSignsFrom: at(0) })
  })

  it('leaves a key alone while it has not signed for its period less the lead time', () => {
    expect(rotationPlan([key('a', 0)], at(30 * DAY - 600_001), policy)).toEqual({ spent: [] })
  })

  it('makes the next key a lead time before it is due, to sign from then', () => {
    expect(rotationPlan([key('a', 0)], at(30 * DAY - 600_000), policy)).toEqual({ spent: [], nextSignsFrom: at(30 * DAY) })
  })

  it('makes no second key while the next one is still waiting to sign', () => {
    expect(rotationPlan([key('a', 0), key('b', 30 * DAY)], at(30 * DAY - 1), policy)).toEqual({ spent: [] })
  })

  it('keeps the old key published while tokens it signed may live, then spends it', () => {
    const keys = [key('a', 0), key('b', 30 * DAY)]
    expect(rotationPlan(keys, at(30 * DAY + 3_600_000 + 59_999), policy)).toEqual({ spent: [] })
    expect(rotationPlan(keys, at(30 * DAY + 3_600_000 + 60_000), policy)).toEqual({ spent: ['a'] })
  })

  it('after a long pause rotates once, keeps signing with the old key meanwhile, and spends what is spent', () => {
    const keys = [key('a', 0), key('b', 30 * DAY)]
    expect(rotationPlan(keys, at(400 * DAY), policy)).toEqual({ spent: ['a'], nextSignsFrom: at(400 * DAY + 600_000) })
  })
})
