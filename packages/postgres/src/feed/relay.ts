import { chainPartitions, comparePositions, LeaseLost, START, silentLogger, uuidv7, watermarksAfter, type Logger, type Position, type Publisher } from '@tidings/core'
import type { Database, Queryable } from '../database/database'
import { Lease } from '../leadership/lease'
import { runAsLeader } from '../leadership/leadership'
import type { OutboxFeed } from './outbox-feed'
import { schemaName } from '../database/sql'

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
 * `relay:<source>`; the holder reads a page after its saved progress, publishes it, and saves the
 * progress once the broker has confirmed every event — under the lease, so a deposed relay cannot move
 * it. The next page goes out while one awaits its confirms (see `lead`). A crash anywhere re-publishes at
 * most the pages not yet saved; the broker drops them by message id where it can, and consumers' inboxes
 * drop the rest. Behind each page go watermarks into the partitions that did not get its last event, so
 * every partition shows how far the source has been published. To a broker that stores repeats, each
 * partition's messages go chained (`chainPartitions`), so consumers keep per-key order even where the
 * broker stored a batch with a hole.
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
   * Publishes page after page, two at most out at once: a page goes out while the one before it still
   * awaits its confirms, and only once the page before that one is saved under the lease, so a deposed
   * relay publishes at most one page more. A publisher sends overlapping batches in order on one
   * connection and fails every batch queued behind a failure, so no page goes out behind a hole. Each
   * page's progress is saved once the broker has confirmed it and the page before it is saved.
   */
  private async lead(leadership: AbortSignal): Promise<void> {
    const { db, feed, publisher } = this.options
    const batchSize = this.options.batchSize ?? 500
    const abandon = new AbortController()
    const signal = AbortSignal.any([leadership, abandon.signal])
    // Not reported to retention by the read: only what is saved may be deleted.
    const read = (after: Position) => feed.read(after, batchSize, { waitMs: this.options.pollIntervalMs ?? 1_000, signal })
    this.published = await this.republishFromLostTail(await this.savedProgress(db))
    this.active = true
    let after = this.published
    // Pages out, oldest first; each settles once confirmed and saved, after the one before it.
    const out: Array<Promise<void>> = []
    let backlog = false
    let saved: Promise<void> = Promise.resolve()
    // The first failure of a page out, known as soon as its publish or save rejects: no page goes out after
    // it (it would be stored behind the hole the failed page left), and the lead ends.
    let broken: { error: unknown } | undefined
    let failed = (_error: unknown): void => {}
    const failure = new Promise<never>((_, reject) => (failed = reject))
    failure.catch(() => {})
    const fail = (error: unknown): void => {
      broken ??= { error }
      failed(error)
    }
    try {
      while (!leadership.aborted) {
        // Room first, then the read: what commits meanwhile goes out with the page, not a round later. Only
        // behind a full page (a backlog) is the next one read while waiting for room.
        if (!backlog) while (out.length > 1) await out.shift()
        // A page out that fails ends the lead at once, even while the read waits for new events.
        const page = await Promise.race([read(after), failure])
        backlog = page.items.length >= batchSize
        if (page.items.length === 0 || leadership.aborted) continue
        while (out.length > 1) await out.shift()
        if (leadership.aborted) break
        if (broken) throw broken.error
        const batch = [...page.items, ...watermarksAfter(feed.source, page.items, publisher.partitions)]
        const sent = publisher.publish(feed.source, publisher.deduplicates ? batch : chainPartitions(batch, publisher.partitions, after))
        sent.catch(fail)
        after = page.next
        saved = this.saveWhenConfirmed(saved, sent, page.next)
        saved.catch(fail)
        out.push(saved)
      }
      await saved // stopping: the last progress is saved before the lease goes
    } finally {
      this.active = false
      abandon.abort()
      await saved.catch(() => {})
    }
  }

  /** Once the page is confirmed and the page before it saved: saves its progress and reports it to retention. */
  private async saveWhenConfirmed(before: Promise<void>, sent: Promise<void>, next: Position): Promise<void> {
    await before
    await sent
    this.published = next
    const saved = await this.saveProgress(next)
    if (saved === undefined) throw new LeaseLost(this.name)
    await this.options.feed.reportReader(this.name, saved)
  }

  /**
   * Where to go on from: the saved progress, or where the broker's partitions end where that is lower (a
   * broker that lost messages it had confirmed, see `Publisher.storedUpTo`): those are published again.
   */
  private async republishFromLostTail(saved: Position): Promise<Position> {
    const stored = await this.options.publisher.storedUpTo?.(this.options.feed.source)
    if (stored === undefined || comparePositions(stored, saved) >= 0) return saved
    this.logger.warn({ relay: this.name, saved, stored }, 'the broker lost messages it had confirmed: publishing them again')
    return stored
  }

  private async savedProgress(db: Queryable): Promise<Position> {
    const result = await db.query<{ position: string }>(`SELECT position FROM ${this.s}.relay_progress WHERE relay = $1`, [this.name])
    return result.rows[0]?.position ?? START
  }

  /**
   * Saves the progress only while the lease is still ours: one statement, so the lease row stays
   * share-locked until its commit and a would-be successor waits for it instead of overlapping with it.
   */
  private async saveProgress(position: Position): Promise<Position | undefined> {
    const result = await this.options.db.query<{ position: string }>(
      `WITH held AS (${this.lease.heldQuery(1)})
       INSERT INTO ${this.s}.relay_progress (relay, position, published_at) SELECT $1, $3, now() FROM held
       ON CONFLICT (relay) DO UPDATE SET position = excluded.position, published_at = excluded.published_at
       RETURNING position`,
      [this.name, this.instanceId, position],
    )
    return result.rows[0]?.position
  }
}
