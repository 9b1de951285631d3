import { AsyncLocalStorage } from 'node:async_hooks'
import type { Queryable } from '../database/database'
import type { CommandOutcome, IdempotencyKeys, KeyedRequest } from './idempotency-keys'

/**
 * The one command a keyed request may run, as `UnitOfWork.run` sees it: either it runs now, claiming the
 * key and recording its outcome last in its own transaction, or it ran before and `replay` is its outcome
 * (the unit of work returns it without touching the database).
 */
export class KeyedCommand {
  private taken = false
  /** Set once the command has committed with its outcome recorded. */
  recorded = false

  constructor(
    readonly keys: IdempotencyKeys,
    readonly request: KeyedRequest,
    readonly replay?: CommandOutcome,
  ) {}

  /** Marks the request's command as started; a keyed request runs one command, not several. */
  take(): this {
    if (this.taken) throw new Error('A request with an Idempotency-Key runs one command; this one ran a second')
    this.taken = true
    return this
  }

  record(tx: Queryable, outcome: CommandOutcome): Promise<void> {
    return this.keys.record(tx, this.request, outcome)
  }
}

const current = new AsyncLocalStorage<KeyedCommand>()

/** Runs a request's handling with its command keyed (see `KeyedCommand`). */
export function runKeyed<T>(command: KeyedCommand, handle: () => Promise<T>): Promise<T> {
  return current.run(command, handle)
}

/** The keyed command of the request being handled, if it has one; taking it twice is an error. */
export function takeKeyedCommand(): KeyedCommand | undefined {
  return current.getStore()?.take()
}
