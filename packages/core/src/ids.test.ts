import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

type Ids = typeof import('./ids')

/**
 * `uuidv7` keeps its last millisecond and counter in module state, so every test loads a fresh copy:
 * an id minted far in the future by one test would otherwise stamp all later ids with that future time.
 */
async function freshIds(): Promise<Ids> {
  vi.resetModules()
  return import('./ids')
}

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function hex(id: string): string {
  return id.replaceAll('-', '')
}

/** The 48-bit Unix millisecond prefix (RFC 9562 `unix_ts_ms`). */
function timeOf(id: string): number {
  return parseInt(hex(id).slice(0, 12), 16)
}

/** The 12 bits after the version nibble (`rand_a`), which this generator uses as a counter. */
function counterOf(id: string): number {
  return parseInt(hex(id).slice(13, 16), 16)
}

function expectStrictlyIncreasing(ids: readonly string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) {
      expect.fail(`id ${i} (${ids[i]}) does not sort after id ${i - 1} (${ids[i - 1]})`)
    }
  }
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0, 0)

describe('uuidv7', () => {
  let ids: Ids
  beforeEach(async () => {
    ids = await freshIds()
  })

  describe('format', () => {
    it('is a lower-case, dashed, 36-character UUID', () => {
      const id = ids.uuidv7(T0)
      expect(id).toHaveLength(36)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    })

    it('sets the version nibble to 7 and the RFC 9562 variant bits to 10', () => {
      for (let i = 0; i < 500; i++) {
        const id = ids.uuidv7(T0 + i)
        expect(id).toMatch(V7)
        const bytes = Buffer.from(hex(id), 'hex')
        expect(bytes[6]! >> 4).toBe(0x7)
        expect(bytes[8]! >> 6).toBe(0b10)
      }
    })

    it('keeps the version and variant bits while the counter runs to its top value', () => {
      const minted = Array.from({ length: 0x1000 }, () => ids.uuidv7(T0))
      expect(counterOf(minted.at(-1)!)).toBe(0xfff)
      for (const id of minted) expect(id).toMatch(V7)
    })

    it('fills the tail with random bits, so ids of the same millisecond differ beyond the counter', () => {
      const tails = new Set(Array.from({ length: 200 }, () => hex(ids.uuidv7(T0)).slice(16)))
      expect(tails.size).toBe(200)
    })
  })

  describe('time prefix', () => {
    it.each([
      ['the epoch', 0],
      ['a 2026 instant', T0],
      ['an odd millisecond', 1_767_225_600_123],
      ['the largest 48-bit millisecond', 2 ** 48 - 1],
    ])('decodes to the given millisecond (%s)', async (_label, ms) => {
      const fresh = await freshIds()
      const id = fresh.uuidv7(ms)
      expect(timeOf(id)).toBe(ms)
      expect(counterOf(id)).toBe(0)
    })

    it('writes the largest 48-bit millisecond as twelve f digits', () => {
      expect(ids.uuidv7(2 ** 48 - 1).slice(0, 13)).toBe('ffffffff-ffff')
    })

    it('writes the epoch as twelve zero digits', () => {
      expect(ids.uuidv7(0).slice(0, 13)).toBe('00000000-0000')
    })

    describe('when no time is given', () => {
      beforeEach(() => {
        vi.useFakeTimers({ toFake: ['Date'] })
      })
      afterEach(() => {
        vi.useRealTimers()
      })

      it('uses the current time', () => {
        vi.setSystemTime(T0 + 42)
        expect(timeOf(ids.uuidv7())).toBe(T0 + 42)
      })
    })
  })

  describe('order', () => {
    it('sorts many ids minted in the same millisecond in minting order, by a counter', () => {
      const minted = Array.from({ length: 1000 }, () => ids.uuidv7(T0))
      expectStrictlyIncreasing(minted)
      expect(new Set(minted).size).toBe(minted.length)
      expect(minted.map(timeOf).every((ms) => ms === T0)).toBe(true)
      expect(minted.map(counterOf)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    })

    it('sorts ids across milliseconds by time, and restarts the counter in each new millisecond', () => {
      const minted: string[] = []
      for (let ms = 0; ms < 20; ms++) {
        for (let n = 0; n < 25; n++) minted.push(ids.uuidv7(T0 + ms))
      }
      expectStrictlyIncreasing(minted)
      expect(counterOf(minted[25]!)).toBe(0)
      expect(timeOf(minted[25]!)).toBe(T0 + 1)
    })

    it('sorts an id of a later millisecond after every id of an earlier one, whatever the counter', () => {
      const early = Array.from({ length: 300 }, () => ids.uuidv7(T0))
      const late = ids.uuidv7(T0 + 1)
      expect(early.every((id) => id < late)).toBe(true)
    })

    it('stays monotonic when the clock steps backwards, keeping the latest millisecond seen', () => {
      const first = ids.uuidv7(T0 + 1000)
      const afterStepBack = ids.uuidv7(T0)
      expect(afterStepBack > first).toBe(true)
      expect(timeOf(afterStepBack)).toBe(T0 + 1000)
      expect(counterOf(afterStepBack)).toBe(1)
    })

    it('is monotonic for an interleaving of repeated, earlier and later milliseconds', () => {
      const clock = [5, 5, 3, 5, 6, 6, 1, 7, 7, 7, 2, 8].map((d) => T0 + d)
      const minted = clock.map((ms) => ids.uuidv7(ms))
      expectStrictlyIncreasing(minted)
    })

    describe('when more than 4096 ids are minted in one millisecond (counter overflow)', () => {
      it('borrows the next millisecond, restarts the counter and stays in order', () => {
        const minted = Array.from({ length: 0x1000 + 1 }, () => ids.uuidv7(T0))
        expectStrictlyIncreasing(minted)
        expect(timeOf(minted[0x1000 - 1]!)).toBe(T0)
        expect(counterOf(minted[0x1000 - 1]!)).toBe(0xfff)
        expect(timeOf(minted[0x1000]!)).toBe(T0 + 1)
        expect(counterOf(minted[0x1000]!)).toBe(0)
      })

      it('stays in order across several overflows in the same millisecond', () => {
        const minted = Array.from({ length: 3 * 0x1000 + 10 }, () => ids.uuidv7(T0))
        expectStrictlyIncreasing(minted)
        expect(new Set(minted).size).toBe(minted.length)
        expect(timeOf(minted.at(-1)!)).toBe(T0 + 3)
      })

      it('keeps counting in the borrowed millisecond when the real clock reaches it, and resets after it', () => {
        const minted = Array.from({ length: 0x1000 + 1 }, () => ids.uuidv7(T0))
        const caughtUp = ids.uuidv7(T0 + 1)
        const stillBehind = ids.uuidv7(T0)
        const next = ids.uuidv7(T0 + 2)
        expectStrictlyIncreasing([...minted, caughtUp, stillBehind, next])
        expect([timeOf(caughtUp), counterOf(caughtUp)]).toEqual([T0 + 1, 1])
        expect([timeOf(stillBehind), counterOf(stillBehind)]).toEqual([T0 + 1, 2])
        expect([timeOf(next), counterOf(next)]).toEqual([T0 + 2, 0])
      })
    })
  })
})

describe('isUuid', () => {
  it('accepts ids from uuidv7', async () => {
    const { uuidv7, isUuid } = await freshIds()
    for (let i = 0; i < 50; i++) expect(isUuid(uuidv7(T0 + i))).toBe(true)
  })

  it.each([
    ['a random v4 uuid', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['the nil uuid', '00000000-0000-0000-0000-000000000000'],
    ['upper case', '0190F4B2-7C3A-7DEF-8ABC-0123456789AB'],
  ])('accepts %s', async (_label, value) => {
    const { isUuid } = await freshIds()
    expect(isUuid(value)).toBe(true)
  })

  it.each([
    ['an empty string', ''],
    ['no dashes', '0190f4b27c3a7def8abc0123456789ab'],
    ['braces', '{0190f4b2-7c3a-7def-8abc-0123456789ab}'],
    ['a non-hex digit', '0190f4b2-7c3a-7def-8abc-0123456789ag'],
    ['a missing digit', '0190f4b2-7c3a-7def-8abc-0123456789a'],
    ['an extra digit', '0190f4b2-7c3a-7def-8abc-0123456789abc'],
    ['dashes in the wrong places', '0190f4b27-c3a-7def-8abc-0123456789ab'],
    ['a trailing newline', '0190f4b2-7c3a-7def-8abc-0123456789ab\n'],
    ['surrounding spaces', ' 0190f4b2-7c3a-7def-8abc-0123456789ab '],
    ['an injection suffix', "0190f4b2-7c3a-7def-8abc-0123456789ab' OR '1'='1"],
    ['a urn prefix', 'urn:uuid:0190f4b2-7c3a-7def-8abc-0123456789ab'],
  ])('rejects %s', async (_label, value) => {
    const { isUuid } = await freshIds()
    expect(isUuid(value)).toBe(false)
  })

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { id: '0190f4b2-7c3a-7def-8abc-0123456789ab' }],
    ['an array', ['0190f4b2-7c3a-7def-8abc-0123456789ab']],
  ])('rejects %s that is not a string', async (_label, value) => {
    const { isUuid } = await freshIds()
    expect(isUuid(value)).toBe(false)
  })
})
