/** `limit` attempts per `windowMs`: e.g. `{ limit: 10, windowMs: 15 * 60_000 }`. */
export interface Rate {
  limit: number
  windowMs: number
}

const DEFAULT_MAX_KEYS = 10_000

/**
 * Attempts per key (an account, an address) as a token bucket: up to `limit` at once, then one more every
 * `windowMs / limit` — so `limit` in any window, without a window edge at which a burst doubles. Kept as
 * one number per key, the time at which its bucket is full again (GCRA). Pure: the time comes in. In
 * memory, so per process (each instance of a service counts on its own), and bounded: at most `maxKeys`
 * keys; a key whose bucket is full again says nothing and is dropped first, and when every key still
 * counts, the one touched longest ago goes.
 */
export class AttemptLimiter {
  /** Per key, when its bucket is full again (ms); a key not here has a full bucket. */
  private readonly fullAt = new Map<string, number>()
  /** The time one attempt takes to earn back. */
  private readonly intervalMs: number
  /** No sweep for full buckets before then: one that found none is not repeated at every new key. */
  private nextSweepAt = -Infinity

  constructor(
    readonly rate: Rate,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {
    if (!Number.isSafeInteger(rate.limit) || rate.limit < 1) throw new RangeError(`A rate's limit must be a positive integer, not ${rate.limit}`)
    if (!Number.isFinite(rate.windowMs) || rate.windowMs <= 0) throw new RangeError(`A rate's window must be a positive number of ms, not ${rate.windowMs}`)
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, not ${maxKeys}`)
    this.intervalMs = rate.windowMs / rate.limit
  }

  /** How long until `key` may make an attempt: 0 when it may now. */
  waitMs(key: string, now: number): number {
    const fullAt = this.fullAt.get(key) ?? now
    return Math.max(0, Math.ceil(fullAt - now - (this.rate.limit - 1) * this.intervalMs))
  }

  /** Counts one attempt of `key` (ask `waitMs` first: past the limit, the key just waits longer). */
  take(key: string, now: number): void {
    this.put(key, Math.max(this.fullAt.get(key) ?? now, now) + this.intervalMs, now)
  }

  /** Gives one attempt back: what was counted before the outcome was known turned out not to count. */
  giveBack(key: string, now: number): void {
    const fullAt = this.fullAt.get(key)
    if (fullAt === undefined) return
    if (fullAt - this.intervalMs <= now) this.fullAt.delete(key)
    else this.put(key, fullAt - this.intervalMs, now)
  }

  /** Forgets `key`: its attempts are all there again. */
  reset(key: string): void {
    this.fullAt.delete(key)
  }

  /** Keys remembered now. */
  get size(): number {
    return this.fullAt.size
  }

  private put(key: string, fullAt: number, now: number): void {
    this.fullAt.delete(key)
    if (this.fullAt.size >= this.maxKeys) this.makeRoom(now)
    this.fullAt.set(key, fullAt)
  }

  private makeRoom(now: number): void {
    if (now >= this.nextSweepAt) {
      for (const [key, fullAt] of this.fullAt) if (fullAt <= now) this.fullAt.delete(key)
      this.nextSweepAt = now + this.intervalMs
    }
    // Map order is the order of the last touch: the first key is the one touched longest ago.
    while (this.fullAt.size >= this.maxKeys) this.fullAt.delete(this.fullAt.keys().next().value!)
  }
}
