import { describe, expect, it } from 'vitest'
import { CallBatches } from './call-batches'

describe('CallBatches', () => {
  it('sends the calls of one turn together, at most maxBatch a send, and answers each with its own result', async () => {
    const sent: number[][] = []
    const batches = new CallBatches<number, string>(async (inputs) => (sent.push(inputs), inputs.map((n) => `r${n}`)), 3)
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batches.call(n)))
    expect(results).toEqual(['r1', 'r2', 'r3', 'r4', 'r5'])
    expect(sent).toEqual([
      [1, 2, 3],
      [4, 5],
    ])
    expect(await batches.call(6)).toBe('r6') // a later turn: a batch of its own
    expect(sent.at(-1)).toEqual([6])
  })

  it('fails every call of a failed send, and only those; a send answering too few fails the calls left over', async () => {
    let sends = 0
    const batches = new CallBatches<number, number>(async (inputs) => {
      if (++sends === 1) throw new Error('down')
      return inputs.length > 1 ? inputs.slice(1) : inputs
    }, 2)
    const first = await Promise.allSettled([1, 2, 3].map((n) => batches.call(n)))
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled'])
    const second = await Promise.allSettled([7, 8].map((n) => batches.call(n)))
    expect(second.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([8, 'Error: a batch of 2 calls answered 1'])
  })
})
