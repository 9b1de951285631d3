import type { Envelope, FeedPage, Position, Publisher, ReadOptions } from '@tidings/core'
import { OutboxFeed, type Database } from '@tidings/postgres'
import { formatMs } from '../../lib/stats'

/**
 * Where a relay's time goes, page by page: reading the outbox, publishing (until the broker confirmed the
 * page), and the rest of the round until the next read begins — the progress save under the lease.
 */
export class PageProfile {
  pages = 0
  events = 0
  readMs = 0
  publishMs = 0
  startupMs = 0
  rounds = 0
  private startAt = 0
  private first = true

  started(at: number): void {
    this.startAt = at
    this.rounds++
    this.first = true
  }

  reading(at: number): void {
    if (this.first) {
      this.startupMs += at - this.startAt
      this.first = false
    }
  }

  read(ms: number, items: number): void {
    if (items > 0) this.readMs += ms
  }

  published(ms: number, items: number): void {
    this.pages++
    this.events += items
    this.publishMs += ms
  }

  summary(batch: number, rawPerSecond: number): string {
    const per = (ms: number) => formatMs(ms / this.pages)
    const atRaw = (batch * 1000) / rawPerSecond
    // The relay reads the next page and saves the last one while a page awaits its confirms: these overlap.
    return (
      `${this.pages} pages; per page, overlapping: outbox read ${per(this.readMs)}, publish until confirmed ${per(this.publishMs)} ` +
      `(the raw rate sends a page in ${formatMs(atRaw)}); start to first read ${formatMs(this.startupMs / this.rounds)} per round`
    )
  }
}

/** The relay's feed, timing each page it reads. */
export class TimedFeed extends OutboxFeed {
  constructor(
    db: Database,
    schema: string,
    source: string,
    private readonly profile: PageProfile,
  ) {
    super(db, schema, source)
  }

  override async read(after: Position, limit: number, options?: ReadOptions): Promise<FeedPage> {
    const start = performance.now()
    this.profile.reading(start)
    const page = await super.read(after, limit, options)
    this.profile.read(performance.now() - start, page.items.length)
    return page
  }
}

/** The relay's publisher, timing each page until every PubAck is in. */
export class TimedPublisher implements Publisher {
  constructor(
    private readonly inner: Publisher,
    private readonly profile: PageProfile,
  ) {}

  get partitions(): number {
    return this.inner.partitions
  }

  get deduplicates(): boolean {
    return this.inner.deduplicates
  }

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    const start = performance.now()
    await this.inner.publish(source, events)
    this.profile.published(performance.now() - start, events.length)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

