import { chainPartitions, LeaseLost, START, silentLogger, uuidv7, watermarksAfter, type Logger, type FeedPage, type Position, type Publisher } from '@tidings/core'
import type { Database, Queryable } from './database'
import { Lease } from './lease'
import { runAsLeader } from './leadership'
import type { OutboxFeed } from './outbox-feed'
import { schemaName } from './sql'

export interface RelayOptions {
  db: Database
  /** The outbox to publish; the relay's lease and progress live in its schema. */
  feed: OutboxFeed
  publisher: Publisher
  instanceId?: string
  leaseTtlMs?: number
  /** Events read and published per round; the publisher bounds how many are unconfirmed at once. */
  batchSize?: number
  /** How long an idle relay waits for a wake-up before it reads again. */
  pollIntervalMs?: number
  logger?: Logger
}

/**
 * Publishes one outbox to a broker, in order, at least once. Every instance competes for the lease
 * `relay:<source>`; the holder reads a page after its saved progress, publishes it, waits for the broker
 * to confirm every event, and only then saves the progress — under the lease, so a deposed relay cannot
 * move it. A crash anywhere re-publishes at most the pages not yet saved; the broker drops them by message
 * id where it can, and consumers' inboxes drop the rest. Behind each page go watermarks into the partitions
 * that did not get its last event, so every partition shows how far the source has been published. To a
 * broker that stores repeats, each partition's messages go chained (`chainPartitions`), so consumers keep
 * per-key order even where the broker stored a batch with a hole.
 */
export class Relay {
  readonly name: string
  readonly instanceId: string
  private readonly lease: Lease
  private readonly s: string
  private readonly logger: Logger
  private stopping = new AbortController()
  private running?: Promise<void>
  private active = false
  private published: Position = START

  constructor(private readonly options: RelayOptions) {
    this.name = `relay:${options.feed.source}`
    this.instanceId = options.instanceId ?? uuidv7()
    this.s = schemaName(options.feed.schema)
    this.logger = options.logger ?? silentLogger
    this.lease = new Lease(options.db, options.feed.schema, this.name, this.instanceId, options.leaseTtlMs ?? 5_000)
  }

  start(): void {
    if (this.running) return
    this.stopping = new AbortController()
    this.running = runAsLeader({ lease: this.lease, stop: this.stopping.signal, logger: this.logger, what: { relay: this.name }, lead: (leadership) => this.lead(leadership) })
  }

  /** Finishes the round in flight (its progress saved or not), stops and hands the lease back. */
  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
    this.running = undefined
  }

  isActive(): boolean {
    return this.active
  }

  /** Up to where the broker has confirmed every event: this instance's view when active, else the saved progress. */
  async publishedPosition(): Promise<Position> {
    return this.active ? this.published : this.savedProgress(this.options.db)
  }

  /**
   * Publishes page after page. A page's progress is saved while the next page is read, and the next page
   * goes out only once that save has committed under the lease: a deposed relay publishes nothing more.
   * After a full page (a backlog) the next one is read while this one is published; otherwise right after
   * the publish, so that an event committed meanwhile waits for one round, not two.
   */
  private async lead(leadership: AbortSignal): Promise<void> {
    const { db, feed, publisher } = this.options
    const batchSize = this.options.batchSize ?? 500
    const abandon = new AbortController()
    const signal = AbortSignal.any([leadership, abandon.signal])
    // Not reported to retention by the read: only what is saved may be deleted.
    const read = (after: Position) => feed.read(after, batchSize, { waitMs: this.options.pollIntervalMs ?? 1_000, signal })
    this.published = await this.savedProgress(db)
    this.active = true
    let saving: Promise<Position | undefined> = Promise.resolve(this.published)
    let ahead: Promise<FeedPage> | undefined
    try {
      while (!leadership.aborted) {
        const page = await (ahead ?? read(this.published))
        ahead = undefined
        const saved = await saving
        if (saved === undefined) throw new LeaseLost(this.name)
        await feed.reportReader(this.name, saved)
        if (page.items.length === 0 || leadership.aborted) continue
        if (page.items.length >= batchSize) ahead = read(page.next)
        const batch = [...page.items, ...watermarksAfter(feed.source, page.items, publisher.partitions)]
        await publisher.publish(feed.source, publisher.deduplicates ? batch : chainPartitions(batch, publisher.partitions, this.published))
        this.published = page.next
        saving = this.saveProgress(page.next)
      }
      await saving // stopping: the last progress is saved before the lease goes
    } finally {
      this.active = false
      abandon.abort()
      await Promise.allSettled([saving, ahead])
    }
  }

  private async savedProgress(db: Queryable): Promise<Position> {
    const result = await db.query<{ position: string }>(`SELECT position FROM ${this.s}.relay_progress WHERE relay = $1`, [this.name])
    return result.rows[0]?.position ?? START
  }

  /**
   * Saves the progress only while the lease is still ours (its row share-locked until the commit). Not
   * waiting for the commit to be flushed: a save lost in a crash only publishes its page again.
   */
  private saveProgress(position: Position): Promise<Position | undefined> {
    return this.options.db.transaction(async (tx) => {
      await tx.query('SET LOCAL synchronous_commit = off')
      if (!(await this.lease.holdsLease(tx))) return undefined
      await tx.query(
        `INSERT INTO ${this.s}.relay_progress (relay, position, published_at) VALUES ($1, $2, now())
         ON CONFLICT (relay) DO UPDATE SET position = excluded.position, published_at = excluded.published_at`,
        [this.name, position],
      )
      return position
    })
  }
}
