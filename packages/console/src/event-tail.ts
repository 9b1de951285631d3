import type { Envelope } from '@tidings/core'
import type { OutboxFeed } from '@tidings/postgres'

export interface EventFilter {
  source?: string | undefined
  type?: string | undefined
  key?: string | undefined
}

/** How long one read waits for new events before it asks again. */
const WAIT_MS = 10_000
const PAGE = 200
/** Events a watcher may fall behind by before it is let go (a stalled browser must not hold memory). */
const MAX_BACKLOG = 1_000

export function matches(filter: EventFilter, event: Envelope): boolean {
  return (!filter.source || event.source === filter.source) && (!filter.type || event.type === filter.type) && (!filter.key || event.key === filter.key)
}

interface Watcher {
  filter: EventFilter
  backlog: Envelope[]
  wake?: (() => void) | undefined
  dropped: boolean
}

interface Tail {
  watchers: Set<Watcher>
  stop: AbortController
}

/**
 * Live events for the console's watchers: one tail per feed however many watch it, started by its first
 * watcher at the feed's head and stopped when its last one leaves, so that open console tabs cost the
 * database one reader per feed, not one per tab. Tails read as an anonymous reader: watching never holds
 * retention back.
 */
export class EventTails {
  private readonly tails = new Map<OutboxFeed, Tail>()
  private reading = 0

  constructor(private readonly feeds: readonly OutboxFeed[]) {}

  /**
   * Tails reading their feed now: counted by the reading loops themselves, so it says how many readers the
   * watchers cost the database (one per watched feed, however many watch it), not how they are filed.
   */
  get running(): number {
    return this.reading
  }

  /**
   * Hands each new event that passes the filter to `emit`, in order, until `signal` aborts. Ends early
   * (resolving `false`) when the watcher fell `MAX_BACKLOG` events behind.
   */
  async watch(filter: EventFilter, signal: AbortSignal, emit: (event: Envelope) => Promise<void>): Promise<boolean> {
    const watcher: Watcher = { filter, backlog: [], dropped: false }
    const followed = this.feeds.filter((feed) => !filter.source || feed.source === filter.source)
    for (const feed of followed) this.join(feed, watcher)
    const leave = (): void => watcher.wake?.()
    signal.addEventListener('abort', leave, { once: true })
    try {
      while (!signal.aborted && !watcher.dropped) {
        const event = watcher.backlog.shift()
        if (event) await emit(event)
        else await new Promise<void>((resolve) => (watcher.wake = resolve))
        watcher.wake = undefined
      }
      return !watcher.dropped
    } finally {
      signal.removeEventListener('abort', leave)
      for (const feed of followed) this.leave(feed, watcher)
    }
  }

  private join(feed: OutboxFeed, watcher: Watcher): void {
    const tail = this.tails.get(feed)
    if (tail) {
      tail.watchers.add(watcher)
      return
    }
    const started: Tail = { watchers: new Set([watcher]), stop: new AbortController() }
    this.tails.set(feed, started)
    void this.follow(feed, started)
  }

  private leave(feed: OutboxFeed, watcher: Watcher): void {
    const tail = this.tails.get(feed)
    if (!tail?.watchers.delete(watcher) || tail.watchers.size > 0) return
    this.tails.delete(feed)
    tail.stop.abort()
  }

  private async follow(feed: OutboxFeed, tail: Tail): Promise<void> {
    const { signal } = tail.stop
    this.reading++
    try {
      let after = await feed.head()
      while (!signal.aborted) {
        const page = await feed.read(after, PAGE, { waitMs: WAIT_MS, signal })
        after = page.next
        for (const event of page.items) for (const watcher of tail.watchers) deliver(watcher, event)
      }
    } catch {
      // The database went away or the tail was stopped mid-read: its watchers end, and reconnect if they want.
      for (const watcher of tail.watchers) {
        watcher.dropped = true
        watcher.wake?.()
      }
      if (this.tails.get(feed) === tail) this.tails.delete(feed)
    } finally {
      this.reading--
    }
  }
}

function deliver(watcher: Watcher, event: Envelope): void {
  if (!matches(watcher.filter, event)) return
  if (watcher.backlog.length >= MAX_BACKLOG) watcher.dropped = true
  else watcher.backlog.push(event)
  watcher.wake?.()
}
