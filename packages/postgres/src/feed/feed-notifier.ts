import type { Database } from '../database/database'
import type { FeedSignals } from './feed-signals'

export const FEED_CHANNEL = 'tidings_feed'

/**
 * Tells other processes that a feed has grown, with NOTIFY sent after the commit rather than inside the
 * command's transaction (inside, it serialises every commit on the notify queue lock). Bursts collapse:
 * at most one NOTIFY per feed is in flight, and one more follows if commits arrived meanwhile.
 */
export class FeedNotifier {
  private readonly inFlight = new Set<string>()
  private readonly pending = new Set<string>()

  constructor(private readonly db: Database) {}

  committed(source: string): void {
    if (this.db.engine === 'pglite') return
    if (this.inFlight.has(source)) {
      this.pending.add(source)
      return
    }
    this.inFlight.add(source)
    void this.db
      .notify(FEED_CHANNEL, source)
      .catch(() => {
        // Best effort: subscribers poll as a fallback.
      })
      .finally(() => {
        this.inFlight.delete(source)
        if (this.pending.delete(source)) this.committed(source)
      })
  }
}

/** Relays NOTIFYs from other processes into this process's signals. */
export function forwardNotifications(db: Database, signals: FeedSignals): Promise<() => Promise<void>> {
  return db.listen(FEED_CHANNEL, (source) => signals.notify(source))
}
