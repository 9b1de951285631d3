import { describe, expect, it } from 'vitest'
import { hashingSlots, PasswordChecksBusy } from './hashing-slots'

/** A promise the test resolves when it wants a hash to finish. */
function gate(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe('hashing slots', () => {
  it('runs at most `concurrent` at once, queues `waiting` more in order, and refuses the rest at once', async () => {
    const slot = hashingSlots(2, 1)
    const gates = [gate(), gate(), gate()]
    const started: number[] = []
    const runs = gates.map((g, i) =>
      slot(async () => {
        started.push(i)
        await g.promise
        return i
      }),
    )
    await Promise.resolve()
    expect(started).toEqual([0, 1])
    await expect(slot(async () => 'refused')).rejects.toBeInstanceOf(PasswordChecksBusy)
    gates[0]!.resolve()
    expect(await runs[0]).toBe(0)
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toEqual([0, 1, 2])
    gates[1]!.resolve()
    gates[2]!.resolve()
    expect(await Promise.all(runs)).toEqual([0, 1, 2])
    // Everything released: a new one starts at once.
    expect(await slot(async () => 'free')).toBe('free')
  })

  it('frees the slot of a failed hash', async () => {
    const slot = hashingSlots(1, 0)
    await expect(slot(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await slot(async () => 'next')).toBe('next')
  })
})
