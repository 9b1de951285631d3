import { silentLogger, type Logger } from '@tidings/core'
import type { Queryable } from '../database/database'
import { cleanupFeed, defaultRetention, type RetentionPolicy } from '../feed/feed-retention'
import { pruneInbox } from '../consumers/inbox'
import { DEFAULT_IDEMPOTENCY_RETENTION_MS, purgeIdempotencyKeys } from '../commands/idempotency-keys'
import { sleep } from '../sleep'

export interface HousekeepingOptions {
  db: Queryable
  /** Schemas whose outbox is trimmed by the retention policy and whose old idempotency keys are forgotten. */
  producers: readonly string[]
  /** Schemas whose processed inbox rows are forgotten after `inboxRetentionMs`. */
  consumers: readonly string[]
  retention?: RetentionPolicy
  inboxRetentionMs?: number
  /** How long an idempotency key is kept (default 24 h, as its unit of work remembers it). */
  idempotencyRetentionMs?: number
  intervalMs?: number
  logger?: Logger
}

/** Periodic clean-up: old feed events no live reader needs, old processed inbox rows, expired idempotency keys. */
export class Housekeeping {
  private stopping = new AbortController()
  private running?: Promise<void>

  constructor(private readonly options: HousekeepingOptions) {}

  async runOnce(): Promise<{ events: number; inboxRows: number; idempotencyKeys: number }> {
    const { db, producers, consumers } = this.options
    let events = 0
    let inboxRows = 0
    let idempotencyKeys = 0
    for (const schema of producers) {
      events += await cleanupFeed(db, schema, this.options.retention ?? defaultRetention)
      idempotencyKeys += await purgeIdempotencyKeys(db, schema, this.options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS)
    }
    for (const schema of consumers) inboxRows += await pruneInbox(db, schema, this.options.inboxRetentionMs ?? defaultRetention.retainMs)
    return { events, inboxRows, idempotencyKeys }
  }

  start(): void {
    if (this.running) return
    this.stopping = new AbortController()
    const stop = this.stopping.signal
    this.running = (async () => {
      while (!stop.aborted) {
        await sleep(this.options.intervalMs ?? 3600_000, stop)
        if (stop.aborted) break
        await this.runOnce().catch((error: unknown) => (this.options.logger ?? silentLogger).warn({ err: error }, 'housekeeping failed'))
      }
    })()
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
    this.running = undefined
  }
}
