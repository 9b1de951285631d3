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

export function matches(filter: EventFilter, event: Envelope): boolean {
  return (!filter.source || event.source === filter.source) && (!filter.type || event.type === filter.type) && (!filter.key || event.key === filter.key)
}

/**
 * Follows feeds from their heads (what is written from now on) until `signal` aborts, handing each event
 * that passes the filter to `emit`, one at a time per feed. Reads as an anonymous reader, so watching
 * never holds retention back.
 */
export async function tailFeeds(feeds: readonly OutboxFeed[], filter: EventFilter, signal: AbortSignal, emit: (event: Envelope) => Promise<void>): Promise<void> {
  const followed = feeds.filter((feed) => !filter.source || feed.source === filter.source)
  await Promise.all(
    followed.map(async (feed) => {
      let after = await feed.head()
      while (!signal.aborted) {
        const page = await feed.read(after, PAGE, { waitMs: WAIT_MS, signal })
        after = page.next
        for (const event of page.items) if (matches(filter, event)) await emit(event)
      }
    }),
  )
}
