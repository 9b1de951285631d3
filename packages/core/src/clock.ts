/** Time comes in through a clock so that decisions stay pure and tests can move time by hand. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

export interface ManualClock extends Clock {
  set(at: Date | string): void
  advance(ms: number): void
}

export function manualClock(start: Date | string = '2026-01-01T00:00:00.000Z'): ManualClock {
  let current = timeOf(start)
  return {
    now: () => new Date(current),
    set: (at) => {
      current = timeOf(at)
    },
    advance: (ms) => {
      current += ms
    },
  }
}

function timeOf(at: Date | string): number {
  const ms = new Date(at).getTime()
  if (Number.isNaN(ms)) throw new RangeError(`Not a time: ${String(at)}`)
  return ms
}
