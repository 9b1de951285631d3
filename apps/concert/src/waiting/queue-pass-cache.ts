import type { Clock, EvictionBus } from '@tidings/core'
import type { QueuePass, QueuePassLookup } from './queue-pass'

/** The eviction bus topic of queue tokens ended before their time (left, or paid): ids are `holderOf` keys. */
export const QUEUE_PASSES_TOPIC = 'concert.queue-passes'

/** Whose token it is: a member has one live token per concert, so this names it among the live ones. */
export const holderOf = (concertId: string, memberId: string): string => `${concertId}/${memberId}`

/**
 * Each instance's copy of the ACTIVE queue passes it read (every seat list, hold and payment checks one).
 * A pass is kept until its active time ends — the room ends an ACTIVE token no sooner, unless its member
 * leaves or pays: then the room drops it here at once (`end`) and tells the other instances through the
 * eviction bus (`followQueuePassEnds`; a bus that may have lost some empties the cache). Only ACTIVE passes
 * are kept, so an admission counts at once; a pass read while an end went by is not kept, so an end is
 * never undone by a slow read.
 */
export class QueuePassCache {
  private readonly passes = new Map<string, QueuePass>()
  /** The token kept for each holder (`holderOf`). */
  private readonly tokens = new Map<string, string>()
  /** Counts ends: a read that saw another count when it started keeps nothing. */
  private ends = 0

  constructor(
    private readonly clock: Clock,
    private readonly capacity = 50_000,
  ) {}

  async pass(token: string, read: QueuePassLookup): Promise<QueuePass | undefined> {
    const kept = this.passes.get(token)
    if (kept && this.active(kept)) return kept
    if (kept) this.drop(token)
    const seen = this.ends
    const pass = await read(token)
    if (pass && this.active(pass) && seen === this.ends) this.keep(token, pass)
    return pass
  }

  /** These holders' tokens ended: their passes are read again. */
  end(holders: readonly string[]): void {
    this.ends++
    for (const holder of holders) {
      const token = this.tokens.get(holder)
      if (token !== undefined) this.drop(token)
    }
  }

  clear(): void {
    this.ends++
    this.passes.clear()
    this.tokens.clear()
  }

  private active(pass: QueuePass): boolean {
    return pass.status === 'ACTIVE' && pass.activeUntil !== null && Date.parse(pass.activeUntil) > this.clock.now().getTime()
  }

  private keep(token: string, pass: QueuePass): void {
    const holder = holderOf(pass.concertId, pass.memberId)
    const earlier = this.tokens.get(holder)
    if (earlier !== undefined) this.drop(earlier)
    if (this.passes.size >= this.capacity) this.drop(this.passes.keys().next().value!)
    this.passes.set(token, pass)
    this.tokens.set(holder, token)
  }

  private drop(token: string): void {
    const pass = this.passes.get(token)
    this.passes.delete(token)
    const holder = pass && holderOf(pass.concertId, pass.memberId)
    if (holder !== undefined && this.tokens.get(holder) === token) this.tokens.delete(holder)
  }
}

/** The ends the room tells (this instance's and the others'): their passes are dropped here. Returns the unsubscription. */
export function followQueuePassEnds(cache: QueuePassCache, bus: EvictionBus | undefined): () => void {
  return bus?.subscribe(QUEUE_PASSES_TOPIC, (ended) => (ended.all ? cache.clear() : cache.end(ended.ids)), () => cache.clear()) ?? (() => {})
}
