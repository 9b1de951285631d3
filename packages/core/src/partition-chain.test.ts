import { describe, expect, it } from 'vitest'
import type { Envelope } from './envelope'
import { chainPartitions, followsChain } from './partition-chain'
import { partitionOf } from './transport'

const deposit = (key: string, position: string): Envelope => ({
  id: `e-${position}`,
  type: 'test.Deposited.v1',
  source: 'test.ledger',
  key,
  position,
  occurredAt: '2026-11-30T12:00:00Z',
  data: {},
  meta: { correlationId: 'c-1' },
})

describe('chainPartitions', () => {
  const keys = ['a', 'b', 'c', 'd', 'e', 'f']
  const page = keys.flatMap((key, i) => [deposit(key, `7-${2 * i + 1}`), deposit(key, `7-${2 * i + 2}`)])

  it("names, for each message, the one before it in its partition, the first of each the page's start", () => {
    const chained = chainPartitions(page, 3, '6-40')
    const last = new Map<number, string>()
    for (const envelope of chained) {
      const partition = partitionOf(envelope.key, 3)
      expect(envelope.meta.previousInPartition).toBe(last.get(partition) ?? '6-40')
      last.set(partition, envelope.position!)
    }
    expect(new Set(chained.map((e) => partitionOf(e.key, 3))).size).toBeGreaterThan(1)
  })

  it('keeps everything else as it was and leaves the page untouched', () => {
    const chained = chainPartitions(page, 3, '0')
    expect(chained.map(({ meta: { previousInPartition: _, ...meta }, ...rest }) => ({ ...rest, meta }))).toEqual(page)
    expect(page.every((e) => e.meta.previousInPartition === undefined)).toBe(true)
  })
})

describe('followsChain', () => {
  const chained = (previousInPartition: string | undefined): Envelope => ({ ...deposit('a', '9-1'), meta: previousInPartition ? { previousInPartition } : {} })

  it('applies a message chained to a position reached, or before it (a repeat)', () => {
    expect(followsChain('8-5', chained('8-5'))).toBe(true)
    expect(followsChain('8-5', chained('8-2'))).toBe(true)
  })

  it('skips a copy chained to a position not reached: an earlier event is missing', () => {
    expect(followsChain('8-5', chained('8-6'))).toBe(false)
  })

  it('applies unchained messages, and starts the chain anywhere when nothing is reached', () => {
    expect(followsChain('8-5', chained(undefined))).toBe(true)
    expect(followsChain(undefined, chained('8-6'))).toBe(true)
  })
})
