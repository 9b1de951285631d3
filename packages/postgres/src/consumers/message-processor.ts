import {
  comparePositions,
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
import { checkpointing, saveCheckpoint } from './checkpoints'
import type { Database, Queryable } from '../database/database'
import { addDeadLetter } from './dead-letters'
import { claiming, claimMessages, unseenMessages, type InboxClaim } from './inbox'
import { withWrites } from '../database/writes'
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
   * transaction outlives the lease or holds the feeds' horizon back for long (the rest of the page goes
   * in the next transaction).
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

/** Some messages of a page were recorded in the inbox by another transaction while the page ran: it is applied again. */
export class ClaimedMeanwhile extends Error {
  constructor(consumer: string, count: number) {
    super(`${count} message(s) of a page of ${consumer} were recorded in its inbox by another transaction meanwhile`)
  }
}

function refuseMalformed(message: Envelope): void {
  if (message.type === MALFORMED_TYPE) throw new MalformedEnvelope(String((message.data as { reason?: unknown })?.reason ?? 'unparseable'))
}

/**
 * Applies pages of one feed to a consumer. A page is one transaction: lease pin, inbox dedupe, handler
 * writes (inline mode) or stored messages (deferred mode), then inbox rows, checkpoint and lease check in
 * one statement. When a page fails, its messages are retried one by one with backoff, and the one that
 * keeps failing is dead-lettered so the stream moves on.
 */
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

  /**
   * Applies a page in as many transactions as the time budget asks (each takes chunks while it is within
   * budget), telling `committed` after each how far it has committed and how many messages that applied.
   * Returns the page's last position.
   */
  async processPage(source: string, items: readonly Envelope[], abort: AbortSignal, committed: (position: Position, applied: number) => void = () => {}): Promise<Position> {
    let rest = items
    while (rest.length > 0) {
      const reached = await this.processBeginning(source, rest, abort)
      const left = rest.filter((item) => comparePositions(item.position!, reached) > 0)
      committed(reached, rest.length - left.length)
      rest = left
    }
    return items.at(-1)!.position!
  }

  /** Applies a page's beginning, as much as one transaction's time budget allows; returns the position it committed up to. */
  private async processBeginning(source: string, items: readonly Envelope[], abort: AbortSignal): Promise<Position> {
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

  /**
   * One page in one transaction. It does what only reads first — pins the lease and takes the page's locks
   * (advisory: no transaction id yet), looks the messages up in the inbox, sorts them in causal order — then
   * the handlers, then one statement that records the page's inbox rows and checkpoint and checks that the
   * lease is still ours. The transaction gets its id at its first write, and holds back every feed's
   * horizon from then until it commits: only from the handlers' writes on, not for the whole page.
   */
  private async commit(source: string, items: readonly Envelope[]): Promise<Position> {
    const { db, schema, consumer, pageBudgetMs, lease } = this.options
    const status = consumer.mode === 'deferred' ? 'pending' : 'done'
    const chunkSize = consumer.handleBatch || status === 'pending' ? BATCH_CHUNK : SINGLE_CHUNK
    let handled: Envelope[] = []
    let held: Envelope[] = []
    let reached: Position | undefined
    const position = await db.transaction(async (tx) => {
      const inCausalOrder = this.causal.page(tx, source)
      handled = []
      held = []
      const claims: InboxClaim[] = []
      const claimed = new Set<string>()
      reached = this.sourceReached.get(source)
      await lockInOrder(tx, consumer.lockKeys?.(items.filter((m) => !isWatermark(m))) ?? [], [lease.pinKey])
      const started = performance.now()
      let last = items[0]!
      for (let from = 0; from < items.length && (from === 0 || performance.now() - started < pageBudgetMs); from += chunkSize) {
        const chunk = items.slice(from, from + chunkSize)
        const chained = inChain(reached, chunk)
        reached = chained.reached
        if (chained.skipped > 0) this.options.logger.warn({ consumer: consumer.name, source, skipped: chained.skipped }, 'skipped copies the broker stored ahead of an earlier event; their repeats follow in order')
        // A watermark only moves the source position: no inbox entry, no handler.
        const messages = chained.kept.filter((m) => !isWatermark(m))
        const fresh = await unseenMessages(tx, schema, consumer.name, messages.map((m) => m.id))
        // Once per id, even when the page holds a message twice (in one chunk or in two).
        const once: Envelope[] = []
        for (const message of messages) {
          if (!fresh.has(message.id) || claimed.has(message.id)) continue
          claimed.add(message.id)
          once.push(message)
        }
        if (status === 'done') {
          const order = await inCausalOrder(once)
          await this.handleAll(tx, order.ready)
          const waiting = new Set(order.held)
          claims.push(...once.map((message): InboxClaim => (waiting.has(message) ? { message, status: 'pending', lane: source, held: true } : { message, status })))
          handled.push(...order.ready)
          held.push(...order.held)
        } else claims.push(...once.map((message): InboxClaim => ({ message, status, lane: source })))
        last = chunk.at(-1)!
      }
      await this.close(tx, source, claims, last, reached)
      return last.position!
    })
    if (reached !== undefined) this.sourceReached.set(source, reached)
    if (held.length > 0) this.causal.held()
    // Committed; the caller makes the progress visible only after this returns.
    this.afterCommit(handled)
    return position
  }

  /**
   * A page's last statement: its inbox rows and checkpoint, and whether the lease is still ours (pinned
   * since the page began, so no takeover can have committed since). A lost lease, or a message recorded by
   * someone else meanwhile, fails the page, and the transaction rolls back.
   */
  private async close(tx: Queryable, source: string, claims: readonly InboxClaim[], last: Envelope, reached: Position | undefined): Promise<void> {
    const { schema, consumer, lease } = this.options
    const writes = [...(claims.length > 0 ? [claiming(schema, consumer.name, claims)] : []), checkpointing(schema, consumer.name, source, last.position!, last.occurredAt, reached)]
    const recorded = claims.length > 0 ? '(SELECT count(*) FROM w0)' : '0'
    const { sql, params } = withWrites(writes, { sql: `SELECT ${recorded}::int AS recorded, ${lease.ownedNow(1)} AS held`, params: [lease.name, lease.owner] })
    const { rows } = await tx.query<{ recorded: number; held: boolean }>(sql, params)
    if (!rows[0]?.held) throw new LeaseLost(lease.name)
    if (Number(rows[0].recorded) !== claims.length) throw new ClaimedMeanwhile(consumer.name, claims.length - Number(rows[0].recorded))
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
