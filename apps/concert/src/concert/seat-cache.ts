import type { Dispatcher, Envelope, EvictionBus, Logger } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import type { Reservation, ReservationEvent } from './reservation'
import type { SeatView } from './reservation.repository'

/** The eviction bus topic of the seat lists: ids are performance ids. */
export const SEATS_TOPIC = 'concert.seats'

/** Every event that moves a seat: after it commits, its performance's cached list is dropped everywhere. */
const SEAT_EVENTS: ReadonlyArray<ReservationEvent['type']> = [
  'concert.SeatHeld.v1',
  'concert.ReservationConfirmed.v1',
  'concert.HoldExpired.v1',
  'concert.ReservationCanceled.v1',
  'concert.SaleCanceled.v1',
]

/**
 * Each instance's copy of the performances' seat lists (article §3), the page every active member polls:
 * read once, then served from memory until a seat of that performance changes. The instance that commits
 * the change drops its copy and tells the others through the eviction bus; a bus that may have lost
 * evictions (`onReset`) empties the cache. A list read while an eviction went by is not kept, so an
 * eviction is never undone by a slow read.
 */
export class SeatCache {
  private readonly lists = new Map<string, SeatView[]>()
  /** Counts evictions: a read that saw another count when it started keeps nothing. */
  private evictions = 0

  constructor(private readonly capacity = 1_000) {}

  async seats(performanceId: string, read: () => Promise<SeatView[]>): Promise<SeatView[]> {
    const cached = this.lists.get(performanceId)
    if (cached) return cached
    const seen = this.evictions
    const seats = await read()
    if (seen === this.evictions && seats.length > 0) this.keep(performanceId, seats)
    return seats
  }

  evict(performanceIds: readonly string[]): void {
    this.evictions++
    for (const id of performanceIds) this.lists.delete(id)
  }

  clear(): void {
    this.evictions++
    this.lists.clear()
  }

  private keep(performanceId: string, seats: SeatView[]): void {
    if (this.lists.size >= this.capacity) this.lists.delete(this.lists.keys().next().value!)
    this.lists.set(performanceId, seats)
  }
}

/**
 * After every committed seat change, drops the performance's list here and publishes the eviction on `bus`
 * (when there is one) for the other instances; a lost publish is logged (their copies live on until the bus
 * resets them, so the bus should be one that says when it may have lost some).
 */
export function seatEvictions(dispatcher: Dispatcher<Queryable>, cache: SeatCache, bus: EvictionBus | undefined, logger: Logger): Dispatcher<Queryable> {
  for (const type of SEAT_EVENTS) {
    dispatcher.afterCommit<Envelope<typeof type, Reservation>>(type, async (event) => {
      const { performanceId } = event.data
      cache.evict([performanceId])
      await bus?.publish({ topic: SEATS_TOPIC, ids: [performanceId] }).catch((error: unknown) => logger.warn({ err: error, performanceId }, 'seat eviction not sent to the other instances'))
    })
  }
  return dispatcher
}

/** The other instances' evictions (this one's too) drop lists here; a bus that may have lost some empties the cache. Returns the unsubscription. */
export function followSeatEvictions(cache: SeatCache, bus: EvictionBus | undefined): () => void {
  return bus?.subscribe(SEATS_TOPIC, (eviction) => (eviction.all ? cache.clear() : cache.evict(eviction.ids)), () => cache.clear()) ?? (() => {})
}
