import type { Envelope } from './envelope'
import type { MessageHandler } from './handlers'
import type { RetryPolicy } from './retry-policy'
import { TidingsError } from './errors'

/**
 * A durable consumer: a name (its inbox and checkpoint key), the feeds it follows and a handler that
 * runs in the consumer's transaction. Types it does not handle are skipped, not failed.
 */
export interface ConsumerDefinition<Tx, E extends Envelope = Envelope> {
  name: string
  follows: readonly string[]
  handle: MessageHandler<Tx, E>
  /**
   * Optional: applies several new messages of one page at once (e.g. one upsert for all of them). It must
   * have the same effect as `handle` on each in turn; single messages (retries, replays) still use `handle`.
   */
  handleBatch?: (tx: Tx, messages: E[]) => Promise<void>
  /** 'inline' (default): dedupe + handler + checkpoint in one transaction. 'deferred': store, ack, process later. */
  mode?: 'inline' | 'deferred'
  retry?: Partial<RetryPolicy>
  /** Clears the read model before a rebuild replays the feeds from the start. */
  reset?: (tx: Tx) => Promise<void>
  /**
   * Runs once the rebuild's clearing transaction has committed, before anything is replayed: drop every
   * cached copy of the read model (here and, through an eviction bus, on the other instances) at once.
   * It must not throw or block.
   */
  afterReset?: () => void
  /**
   * Runs after the transaction that applied these messages has committed and before the subscription
   * reports progress (so a consistency wait released by that progress never sees state older than this
   * hook leaves behind): e.g. evict caches or push notifications. It must not throw or block; errors are
   * logged and ignored.
   */
  afterCommit?: (messages: E[]) => void
  /**
   * Optional: names of what handling these messages will write where other transactions of this consumer
   * write too (e.g. a denormalized document fed by several partitions). The processor locks them, sorted,
   * at the start of each page's transaction, before any handler runs, so that two pages applied at once
   * (partitions on different instances) wait for each other instead of deadlocking.
   */
  lockKeys?: (messages: E[]) => string[]
  /**
   * How long a message may be held for the positions it names in `meta.after` (feeds this consumer follows
   * but has not applied that far) before it is dead-lettered with an alert; default one hour.
   */
  holdLimitMs?: number
}

/** What a consumer reports as it works, e.g. to metrics. Every method is optional. */
export interface ConsumerObserver {
  handled?(consumer: string, type: string, durationMs: number): void
  retried?(consumer: string, type: string, attempt: number, error: unknown): void
  deadLettered?(consumer: string, type: string, error: unknown): void
}

export function consumer<Tx, E extends Envelope = Envelope>(definition: ConsumerDefinition<Tx, E>): ConsumerDefinition<Tx, E> {
  return definition
}

/** A message that can never succeed (bad shape, unknown type) skips the retries and goes to dead letters at once. */
export function isPermanentFailure(error: unknown): boolean {
  return error instanceof TidingsError && error.kind === 'validation'
}
