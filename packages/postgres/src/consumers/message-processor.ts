import {
  MALFORMED_TYPE,
  inChain,
  isExhausted,
  isWatermark,
  isPermanentFailure,
  LeaseLost,
  MalformedEnvelope,
  retryDelayMs,
  type ConsumerDefinition,
  type ConsumerObserver,
  type Envelope,
  type Logger,
  type Position,
  type RetryPolicy,
  type AppliedPosition,
} from '@tidings/core'
import { CausalGate } from './causal-gate'
import { lockInOrder } from './lock-in-order'
import { saveCheckpoint } from './checkpoints'
import type { Database, Queryable } from '../database/database'
import { addDeadLetter } from './dead-letters'
import { claimMessages, holdMessages } from './inbox'
import { isInfrastructureError } from '../database/infrastructure-error'
import type { Lease } from '../leadership/lease'
import { sleep } from '../sleep'

export interface ProcessorOptions {
  db: Database
  schema: string
  consumer: ConsumerDefinition<Queryable>
  lease: Lease
  retry: RetryPolicy
  observer: ConsumerObserver
  logger: Logger
  /**
   * A page's transaction stops taking more messages after this long and commits what it has, so that no
   * transaction outlives the lease (the rest of the page is read again).
   */
  pageBudgetMs: number
  /** How far the consumer has applied each feed it follows, for the positions messages name in `meta.after`. */
  applied: AppliedPosition<Queryable>
}

/**
 * Messages are claimed in the inbox and handled this many at a time, and the page's time budget is checked
 * between chunks: 100 for a consumer with `handleBatch` (one call per chunk), 10 for one message at a time,
 * whose handler may be slow (e.g. a zero-payload fetch over HTTP) and must not stretch the transaction.
 */
const BATCH_CHUNK = 100
const SINGLE_CHUNK = 10

/**
 * Applies pages of one feed to a consumer. A page is one transaction: lease check, inbox dedupe, handler
 * writes (inline mode) or stored messages (deferred mode), checkpoint. When a page fails, its messages are
 * retried one by one with backoff, and the one that keeps failing is dead-lettered so the stream moves on.
 */
function refuseMalformed(message: Envelope): void {
  if (message.type === MALFORMED_TYPE) throw new MalformedEnvelope(String((message.data as { reason?: unknown })?.reason ?? 'unparseable'))
}

export class MessageProcessor {
  /** Per feed, the furthest producer position committed (for a broker partition, `meta.sourcePosition`). */
  private readonly sourceReached = new Map<string, Position>()

  /** Which messages wait for the positions they name (`meta.after`), and which of them may go. */
  readonly causal: CausalGate

  constructor(private readonly options: ProcessorOptions) {
    this.causal = new CausalGate(options.applied, options.schema, options.consumer.name)
  }

  /** Where a feed's producer position stands as the checkpoint says, when taking over. */
  resumeSource(source: string, position: Position | undefined): void {
    if (position === undefined) this.sourceReached.delete(source)
    else this.sourceReached.set(source, position)
  }

  /** How far in its producer's outbox this feed has been applied (undefined: nothing yet). */
  sourcePosition(source: string): Position | undefined {
    return this.sourceReached.get(source)
  }

  /** Applies a page (or, within the time budget, its beginning); returns the position it committed up to. */
  async processPage(source: string, items: readonly Envelope[], abort: AbortSignal): Promise<Position> {
    if (items.length > 1) {
      try {
        return await this.commit(source, items)
      } catch (error) {
        if (error instanceof LeaseLost || isInfrastructureError(error)) throw error
      }
    }
    for (const item of items) await this.processOne(source, item, abort)
    return items.at(-1)!.position!
  }

  private async processOne(source: string, message: Envelope, abort: AbortSignal): Promise<void> {
    const { retry, observer, consumer, logger } = this.options
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commit(source, [message])
        return
      } catch (error) {
        if (error instanceof LeaseLost || isInfrastructureError(error)) throw error
        if (isPermanentFailure(error) || isExhausted(retry, attempt)) {
          await this.deadLetter(source, message, error, attempt)
          return
        }
        observer.retried?.(consumer.name, message.type, attempt, error)
        logger.warn({ err: error, consumer: consumer.name, id: message.id, attempt }, 'message failed, will retry')
        await sleep(retryDelayMs(retry, attempt), abort)
        if (abort.aborted) throw new LeaseLost(consumer.name)
      }
    }
  }

  private async commit(source: string, items: readonly Envelope[]): Promise<Position> {
    const { db, schema, consumer, pageBudgetMs } = this.options
    const status = consumer.mode === 'deferred' ? 'pending' : 'done'
    const chunkSize = consumer.handleBatch || status === 'pending' ? BATCH_CHUNK : SINGLE_CHUNK
    let handled: Envelope[] = []
    let held: Envelope[] = []
    let reached: Position | undefined
    const position = await db.transaction(async (tx) => {
      const inCausalOrder = this.causal.page(tx, source)
      handled = []
      held = []
      reached = this.sourceReached.get(source)
      await this.assertLease(tx)
      if (consumer.lockKeys) await lockInOrder(tx, consumer.lockKeys(items.filter((m) => !isWatermark(m))))
      const started = performance.now()
      let last = items[0]!
      for (let from = 0; from < items.length && (from === 0 || performance.now() - started < pageBudgetMs); from += chunkSize) {
        const chunk = items.slice(from, from + chunkSize)
        const chained = inChain(reached, chunk)
        reached = chained.reached
        if (chained.skipped > 0) this.options.logger.warn({ consumer: consumer.name, source, skipped: chained.skipped }, 'skipped copies the broker stored ahead of an earlier event; their repeats follow in order')
        // A watermark only moves the source position: no inbox entry, no handler.
        const messages = chained.kept.filter((m) => !isWatermark(m))
        const fresh = await claimMessages(tx, schema, consumer.name, messages, status, source)
        if (status === 'done') {
          // Once per id, even when the page holds a message twice.
          const once = messages.filter((m) => fresh.delete(m.id))
          const order = await inCausalOrder(once)
          await holdMessages(tx, schema, consumer.name, source, order.held)
          await this.handleAll(tx, order.ready)
          handled.push(...order.ready)
          held.push(...order.held)
        }
        last = chunk.at(-1)!
      }
      await saveCheckpoint(tx, schema, consumer.name, source, last.position!, last.occurredAt, reached)
      return last.position!
    })
    if (reached !== undefined) this.sourceReached.set(source, reached)
    if (held.length > 0) this.causal.held()
    // Committed; the caller makes the progress visible only after this returns.
    this.afterCommit(handled)
    return position
  }

  /**
   * Runs the consumer's `afterCommit` hook for messages whose handler writes have just committed. Call it
   * after the commit and before the progress is reported. A failing hook is logged, never rethrown.
   */
  afterCommit(messages: Envelope[]): void {
    const { consumer, logger } = this.options
    if (!consumer.afterCommit || messages.length === 0) return
    const failed = (error: unknown): void =>
      logger.error({ err: error, consumer: consumer.name, messages: messages.length }, 'afterCommit hook failed')
    try {
      const result: unknown = consumer.afterCommit(messages)
      // Typed as synchronous, but an async function fits the type too: never leave its rejection unhandled.
      if (result instanceof Promise) result.catch(failed)
    } catch (error) {
      failed(error)
    }
  }

  private async handleAll(tx: Queryable, messages: Envelope[]): Promise<void> {
    const { consumer, observer } = this.options
    if (!consumer.handleBatch || messages.length < 2) {
      for (const message of messages) await this.handle(tx, message)
      return
    }
    messages.forEach(refuseMalformed)
    const started = performance.now()
    await consumer.handleBatch(tx, messages)
    const each = (performance.now() - started) / messages.length
    for (const message of messages) observer.handled?.(consumer.name, message.type, each)
  }

  /** Runs the consumer's handler for one message and reports its duration. */
  async handle(tx: Queryable, message: Envelope): Promise<void> {
    refuseMalformed(message)
    const started = performance.now()
    await this.options.consumer.handle(tx, message)
    this.options.observer.handled?.(this.options.consumer.name, message.type, performance.now() - started)
  }

  async assertLease(tx: Queryable): Promise<void> {
    if (!(await this.options.lease.holdsLease(tx))) throw new LeaseLost(this.options.lease.name)
  }

  private async deadLetter(source: string, message: Envelope, error: unknown, attempts: number): Promise<void> {
    const { db, schema, consumer, observer, logger } = this.options
    const { reached } = inChain(this.sourceReached.get(source), [message])
    await db.transaction(async (tx) => {
      await this.assertLease(tx)
      const fresh = await claimMessages(tx, schema, consumer.name, [message], 'dead')
      if (fresh.has(message.id)) await addDeadLetter(tx, schema, consumer.name, message, error, attempts)
      await saveCheckpoint(tx, schema, consumer.name, source, message.position!, message.occurredAt, reached)
    })
    if (reached !== undefined) this.sourceReached.set(source, reached)
    observer.deadLettered?.(consumer.name, message.type, error)
    logger.error({ err: error, consumer: consumer.name, id: message.id, attempts }, 'message dead-lettered')
  }
}
