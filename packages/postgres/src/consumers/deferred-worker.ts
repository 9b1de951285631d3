import { DependencyNotReached, isExhausted, isPermanentFailure, LeaseLost, retryDelayMs, type Envelope } from '@tidings/core'
import { addDeadLetter, describeError } from './dead-letters'
import { duePendingMessages, hasPending, postponePending, settlePending, type PendingMessage } from './inbox'
import { isInfrastructureError } from '../database/infrastructure-error'
import type { MessageProcessor, ProcessorOptions } from './message-processor'

/** How long a held message may wait for the positions it names, unless the consumer says otherwise. */
const DEFAULT_HOLD_LIMIT_MS = 60 * 60_000

/**
 * Processes what waits in a consumer's inbox — everything a deferred-mode consumer stored, and the messages
 * any consumer holds for positions they name (`meta.after`): each message in its own transaction with the
 * handler's writes, retried with backoff (attempts are stored, so they survive restarts), then
 * dead-lettered. A held message is skipped, without counting an attempt, until its consumer has applied
 * what it names, and dead-lettered after the hold limit. A crash at any step leaves the message pending or
 * done, never lost.
 */
export class DeferredWorker {
  /**
   * The lane's message being settled, from before its transaction until its `afterCommit` hook has run:
   * its commit is visible to other connections before the hook runs, so progress read from the database
   * must not count it yet.
   */
  settlingIn(lane: string): Envelope | undefined {
    return this.current?.lane === lane ? this.current.envelope : undefined
  }

  private current?: PendingMessage

  constructor(
    private readonly options: ProcessorOptions,
    private readonly processor: MessageProcessor,
    /** The lanes (feeds, or partitions) whose messages this worker releases. */
    private readonly lanes: readonly string[],
  ) {}

  /** Processes the messages due now, stopping early on `abort`; returns how many it settled or postponed. */
  async drain(abort?: AbortSignal, batch = 100): Promise<number> {
    const { db, schema, consumer, retry, observer } = this.options
    const holds = this.processor.holds
    const due = await duePendingMessages(db, schema, consumer.name, batch, this.lanes)
    if (due.length === 0 && this.processor.holding && !(await hasPending(db, schema, consumer.name, this.lanes)) && holds === this.processor.holds) {
      this.processor.holding = false
    }
    let handled = 0
    for (const message of due) {
      const { envelope, attempts: before, waitedMs } = message
      if (abort?.aborted) break
      const unmet = await this.processor.unmet(envelope, db)
      if (unmet && waitedMs < (consumer.holdLimitMs ?? DEFAULT_HOLD_LIMIT_MS)) continue
      handled++
      if (unmet) {
        await this.deadLetter(envelope, new DependencyNotReached(unmet, waitedMs), before)
        continue
      }
      try {
        this.current = message
        const settled = await db.transaction(async (tx) => {
          await this.processor.assertLease(tx)
          if (!(await settlePending(tx, schema, consumer.name, envelope.id, 'done'))) return false
          await this.processor.handle(tx, envelope)
          return true
        })
        // Before drain() returns, and so before the subscription reports the progress.
        if (settled) this.processor.afterCommit([envelope])
      } catch (error) {
        if (error instanceof LeaseLost || isInfrastructureError(error)) throw error
        const attempts = before + 1
        if (isPermanentFailure(error) || isExhausted(retry, attempts)) {
          await this.deadLetter(envelope, error, attempts)
        } else {
          await postponePending(db, schema, consumer.name, envelope.id, retryDelayMs(retry, attempts), describeError(error))
          observer.retried?.(consumer.name, envelope.type, attempts, error)
        }
      } finally {
        this.current = undefined
      }
    }
    return handled
  }

  private async deadLetter(envelope: Envelope, error: unknown, attempts: number): Promise<void> {
    const { db, schema, consumer, observer, logger } = this.options
    await db.transaction(async (tx) => {
      await this.processor.assertLease(tx)
      if (await settlePending(tx, schema, consumer.name, envelope.id, 'dead')) {
        await addDeadLetter(tx, schema, consumer.name, envelope, error, attempts)
      }
    })
    observer.deadLettered?.(consumer.name, envelope.type, error)
    logger.error({ err: error, consumer: consumer.name, id: envelope.id, attempts }, 'held or deferred message dead-lettered')
  }
}
