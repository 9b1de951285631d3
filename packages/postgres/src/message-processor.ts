import {
  isExhausted,
  isPermanentFailure,
  LeaseLost,
  MalformedEnvelope,
  retryDelayMs,
  type ConsumerDefinition,
  type ConsumerObserver,
  type Envelope,
  type Logger,
  type RetryPolicy,
} from '@tidings/core'
import { saveCheckpoint } from './checkpoints'
import type { Database, Queryable } from './database'
import { addDeadLetter } from './dead-letters'
import { claimMessages } from './inbox'
import { isInfrastructureError } from './infrastructure-error'
import type { Lease } from './lease'
import { sleep } from './sleep'

/** A feed item that could not be parsed travels under this type so that it is dead-lettered, not lost. */
export const MALFORMED_TYPE = 'tidings.Malformed'

export interface ProcessorOptions {
  db: Database
  schema: string
  consumer: ConsumerDefinition<Queryable>
  lease: Lease
  retry: RetryPolicy
  observer: ConsumerObserver
  logger: Logger
}

/**
 * Applies pages of one feed to a consumer. A page is one transaction: lease check, inbox dedupe, handler
 * writes (inline mode) or stored messages (deferred mode), checkpoint. When a page fails, its messages are
 * retried one by one with backoff, and the one that keeps failing is dead-lettered so the stream moves on.
 */
export class MessageProcessor {
  constructor(private readonly options: ProcessorOptions) {}

  async processPage(source: string, items: readonly Envelope[], abort: AbortSignal): Promise<void> {
    if (items.length === 0) return
    if (items.length > 1) {
      try {
        await this.commit(source, items)
        return
      } catch (error) {
        if (error instanceof LeaseLost || isInfrastructureError(error)) throw error
      }
    }
    for (const item of items) await this.processOne(source, item, abort)
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

  private async commit(source: string, items: readonly Envelope[]): Promise<void> {
    const { db, schema, consumer } = this.options
    const deferred = consumer.mode === 'deferred'
    const last = items.at(-1)!
    await db.transaction(async (tx) => {
      await this.assertLease(tx)
      const fresh = await claimMessages(tx, schema, consumer.name, items, deferred ? 'pending' : 'done')
      if (!deferred) {
        for (const message of items) if (fresh.delete(message.id)) await this.handle(tx, message)
      }
      await saveCheckpoint(tx, schema, consumer.name, source, last.position!, last.occurredAt)
    })
  }

  /** Runs the consumer's handler for one message and reports its duration. */
  async handle(tx: Queryable, message: Envelope): Promise<void> {
    if (message.type === MALFORMED_TYPE) throw new MalformedEnvelope(String((message.data as { reason?: unknown })?.reason ?? 'unparseable'))
    const started = performance.now()
    await this.options.consumer.handle(tx, message)
    this.options.observer.handled?.(this.options.consumer.name, message.type, performance.now() - started)
  }

  async assertLease(tx: Queryable): Promise<void> {
    if (!(await this.options.lease.holdsLease(tx))) throw new LeaseLost(this.options.lease.name)
  }

  private async deadLetter(source: string, message: Envelope, error: unknown, attempts: number): Promise<void> {
    const { db, schema, consumer, observer, logger } = this.options
    await db.transaction(async (tx) => {
      await this.assertLease(tx)
      const fresh = await claimMessages(tx, schema, consumer.name, [message], 'dead')
      if (fresh.has(message.id)) await addDeadLetter(tx, schema, consumer.name, message, error, attempts)
      await saveCheckpoint(tx, schema, consumer.name, source, message.position!, message.occurredAt)
    })
    observer.deadLettered?.(consumer.name, message.type, error)
    logger.error({ err: error, consumer: consumer.name, id: message.id, attempts }, 'message dead-lettered')
  }
}
