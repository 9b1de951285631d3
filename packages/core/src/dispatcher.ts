import type { Envelope } from './envelope'
import type { AfterCommitHandler, InTransactionHandler, Logger } from './handlers'
import { silentLogger } from './handlers'

export interface DispatcherHooks {
  logger?: Logger
  /** Called once for every after-commit handler that failed, e.g. to count it in metrics. */
  onAfterCommitFailure?: (type: string, error: unknown) => void
}

/**
 * Routes recorded events to the two in-process phases. Everything not registered here still reaches
 * durable consumers through the outbox: the dispatcher never replaces it.
 */
export class Dispatcher<Tx> {
  private readonly inTx = new Map<string, InTransactionHandler<Tx>[]>()
  private readonly afterCommitHandlers = new Map<string, AfterCommitHandler[]>()

  constructor(private readonly hooks: DispatcherHooks = {}) {}

  inTransaction<E extends Envelope>(type: E['type'], handler: InTransactionHandler<Tx, E>): this {
    push(this.inTx, type, handler as InTransactionHandler<Tx>)
    return this
  }

  afterCommit<E extends Envelope>(type: E['type'], handler: AfterCommitHandler<E>): this {
    push(this.afterCommitHandlers, type, handler as AfterCommitHandler)
    return this
  }

  /** Whether any of these events has an in-transaction handler. */
  handlesInTransaction(events: readonly Envelope[]): boolean {
    return events.some((e) => this.inTx.has(e.type))
  }

  /** In order of recording; the first failure propagates and the caller's transaction rolls back. */
  async dispatchInTransaction(tx: Tx, events: readonly Envelope[]): Promise<void> {
    for (const e of events) {
      for (const handler of this.inTx.get(e.type) ?? []) await handler(tx, e)
    }
  }

  /** Never throws: the command has already committed. */
  async dispatchAfterCommit(events: readonly Envelope[]): Promise<void> {
    const logger = this.hooks.logger ?? silentLogger
    for (const e of events) {
      for (const handler of this.afterCommitHandlers.get(e.type) ?? []) {
        try {
          await handler(e)
        } catch (error) {
          try {
            logger.warn({ err: error, type: e.type, id: e.id }, 'after-commit handler failed')
            this.hooks.onAfterCommitFailure?.(e.type, error)
          } catch {
            // A broken logger or hook must not turn a committed command into a failure.
          }
        }
      }
    }
  }
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}
