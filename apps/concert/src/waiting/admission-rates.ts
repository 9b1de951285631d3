import type { Clock } from '@tidings/core'
import type { WaitingRoomStore } from './waiting-room.store'

/** Admission rates are measured over this window (the estimated wait divides by it). */
const RATE_WINDOW_MS = 5 * 60_000
/** A concert's admission rate is read at most this often. */
const RATE_CACHE_MS = 1_000
/** Concerts whose rate is kept at once. */
const RATES_KEPT = 10_000

/** Each concert's admissions per second lately, read from the store at most once a second (callers at once share the read). */
export class AdmissionRates {
  private readonly rates = new Map<string, { perSecond: Promise<number>; at: number }>()

  constructor(
    private readonly store: WaitingRoomStore,
    private readonly clock: Clock,
  ) {}

  perSecond(concertId: string): Promise<number> {
    const cached = this.rates.get(concertId)
    const now = this.clock.now()
    if (cached && now.getTime() - cached.at < RATE_CACHE_MS) return cached.perSecond
    const perSecond = this.store.admittedPerSecond(concertId, now, RATE_WINDOW_MS)
    // A failed read is not kept: the next caller reads again.
    perSecond.catch(() => this.rates.get(concertId)?.perSecond === perSecond && this.rates.delete(concertId))
    if (this.rates.size >= RATES_KEPT) this.rates.clear()
    this.rates.set(concertId, { perSecond, at: now.getTime() })
    return perSecond
  }
}
