import { describe, expect, it } from 'vitest'
import { partitionOf, partitionSource } from './transport'

describe('partitionOf', () => {
  it('is FNV-1a: the same partition for a key everywhere, forever', () => {
    // Reference values of 32-bit FNV-1a: '' → 0x811c9dc5, 'a' → 0xe40c292c, 'foobar' → 0xbf9cf968.
    expect(partitionOf('', 2 ** 31)).toBe(0x811c9dc5 % 2 ** 31)
    expect(partitionOf('a', 1_000_003)).toBe(0xe40c292c % 1_000_003)
    expect(partitionOf('foobar', 97)).toBe(0xbf9cf968 % 97)
  })

  it('spreads keys over every partition, roughly evenly', () => {
    const counts = new Array<number>(8).fill(0)
    for (let i = 0; i < 8000; i++) counts[partitionOf(`019ad3c4-${i}`, 8)]!++
    for (const n of counts) expect(n).toBeGreaterThan(800)
  })

  it('refuses a partition count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => partitionOf('k', n)).toThrow(RangeError)
  })

  it('names partitions for checkpoints', () => {
    expect(partitionSource('board.comment', 3)).toBe('board.comment#3')
  })
})
