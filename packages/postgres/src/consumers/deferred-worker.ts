import { isExhausted, isPermanentFailure, LeaseLost, retryDelayMs, type Envelope } from '@tidings/core'
import { addDeadLetter, describeError } from './dead-letters'
import { duePendingMessages, postponePending, settlePending } from './inbox'
import { isInfrastructureError } from '../database/infrastructure-error'
import type { MessageProcessor, ProcessorOptions } from './message-processor'

/**
 * Processes what a deferred-mode consumer stored in its inbox: each message in its own transaction with
 * the handler's writes, retried with backoff (attempts are stored, so they survive restarts), then
 * dead-lettered. A crash at any step leaves the message pending or done, never lost.
 */
export class DeferredWorker {
  /**
   * The message being settled, from before its transaction until its `afterCommit` hook has run: its
   * commit is visible to other connections before the hook runs, so progress read from the database must
   * not count it yet.
   */
  get settling(): Envelope | undefined {
    return this.current
  }

  private current?: Envelope

  constructor(
    private readonly options: ProcessorOptions,
    private readonly processor: MessageProcessor,
  ) {}

  /** Processes the messages due now, stopping early on `abort`; returns how many it settled or postponed. */
  async drain(abort?: AbortSignal, batch = 100): Promise<number> {
    const { db, schema, consumer, retry, observer, logger } = this.options
    const due = await duePendingMessages(db, schema, consumer.name, batch)
    let handled = 0
    for (const { envelope, attempts: before } of due) {
      if (abort?.aborted) break
      handled++
      try {
        this.current = envelope
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
          await db.transaction(async (tx) => {
            await this.processor.assertLease(tx)
            if (await settlePending(tx, schema, consumer.name, envelope.id, 'dead')) {
              await addDeadLetter(tx, schema, consumer.name, envelope, error, attempts)
            }
          })
          observer.deadLettered?.(consumer.name, envelope.type, error)
          logger.error({ err: error, consumer: consumer.name, id: envelope.id, attempts }, 'deferred message dead-lettered')
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
}
