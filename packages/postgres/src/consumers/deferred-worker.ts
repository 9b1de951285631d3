import { DependencyNotReached, isExhausted, isPermanentFailure, LeaseLost, retryDelayMs, type ConsistencyToken, type Envelope } from '@tidings/core'
import { CausalGate } from './causal-gate'
import { addDeadLetter, describeError } from './dead-letters'
import { duePendingMessages, hasPending, hasPendingOf, postponePending, settlePending, stillHeld, type PendingMessage } from './inbox'
import { lockInOrder } from './lock-in-order'
import { isInfrastructureError } from '../database/infrastructure-error'
import type { MessageProcessor, ProcessorOptions } from './message-processor'

/** How long a held message may wait for the positions it names, unless the consumer says otherwise. */
const DEFAULT_HOLD_LIMIT_MS = 60 * 60_000
/** How long a held message steps out of the worker's window after it was found still waiting. */
const STILL_HELD_MS = 250
/** At most this many windows of held messages still waiting are passed over in one pass. */
const MAX_WINDOWS = 20

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
    const { db, schema, consumer } = this.options
    const { causal } = this.processor
    const holds = causal.holds
    const unmet = causal.pass(db)
    let handled = 0
    // A window full of held messages still waiting steps aside for the next one, within this pass.
    for (let window = 0; window < MAX_WINDOWS && !abort?.aborted; window++) {
      const due = await duePendingMessages(db, schema, consumer.name, batch, this.lanes)
      if (window === 0 && due.length === 0 && causal.holding && !(await hasPending(db, schema, consumer.name, this.lanes)) && holds === causal.holds) {
        causal.holding = false
      }
      const waiting: string[] = []
      for (const message of due) {
        if (abort?.aborted) break
        const itself = CausalGate.waitsForItself(message.envelope, message.lane)
        const named = itself ?? (await unmet(message.envelope))
        if (named && !itself && !(await this.givesUp(message, named))) waiting.push(message.envelope.id)
        else {
          handled++
          if (named) await this.deadLetter(message.envelope, new DependencyNotReached(named, message.waitedMs), message.attempts)
          else await this.settle(message)
        }
      }
      await stillHeld(db, schema, consumer.name, waiting, STILL_HELD_MS)
      if (waiting.length < batch) break
    }
    return handled
  }

  /** Applies a message in its own transaction, or postpones or dead-letters it when its handler fails. */
  private async settle(message: PendingMessage): Promise<void> {
    const { db, schema, consumer, retry, observer } = this.options
    const { envelope, attempts: before } = message
    try {
      this.current = message
      const settled = await db.transaction(async (tx) => {
        await this.processor.assertLease(tx)
        if (consumer.lockKeys) await lockInOrder(tx, consumer.lockKeys([envelope]))
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

  /**
   * A held message is given up (dead-lettered) once it has waited its hold limit, unless what it names is
   * still on its way through this consumer's own inbox (a deferred consumer's backlog).
   */
  private async givesUp(message: PendingMessage, named: ConsistencyToken): Promise<boolean> {
    const { db, schema, consumer } = this.options
    if (message.waitedMs < (consumer.holdLimitMs ?? DEFAULT_HOLD_LIMIT_MS)) return false
    return !(await hasPendingOf(db, schema, consumer.name, named.source))
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
