/**
 * Events per second over a sliding window, kept in one-second buckets so recording is O(1) and memory is
 * bounded. Time is passed in (milliseconds), so it is pure and testable.
 */
export class Throughput {
  private readonly buckets: number[]
  private readonly stamps: number[]

  constructor(private readonly windowSeconds = 10) {
    this.buckets = new Array<number>(windowSeconds).fill(0)
    this.stamps = new Array<number>(windowSeconds).fill(-1)
  }

  record(count: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000)
    const slot = second % this.windowSeconds
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second
      this.buckets[slot] = 0
    }
    this.buckets[slot]! += count
  }

  /** The mean rate over the last full window, the current (partial) second included. */
  perSecond(nowMs: number): number {
    const second = Math.floor(nowMs / 1000)
    let total = 0
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.stamps[i]! > second - this.windowSeconds) total += this.buckets[i]!
    }
    return total / this.windowSeconds
  }
}
