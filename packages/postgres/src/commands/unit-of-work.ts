import {
  Dispatcher,
  systemClock,
  uuidv7,
  withAfter,
  type Clock,
  type ConsistencyToken,
  type Envelope,
  type EnvelopeMeta,
  type Event,
  type IdGenerator,
} from '@tidings/core'
import type { Database, Queryable } from '../database/database'
import { LazyTransaction } from '../database/lazy-transaction'
import { runWrites, type Write } from '../database/writes'
import type { FeedNotifier } from '../feed/feed-notifier'
import type { FeedSignals } from '../feed/feed-signals'
import { appendToOutbox } from '../feed/outbox'
import { IdempotencyKeys } from './idempotency-keys'
import { takeKeyedCommand } from './keyed-command'

/** The transaction a command runs in: plain queries plus `record`, which queues events for the outbox. */
export interface CommandTx extends Queryable {
  record(...events: Event[]): void
  /**
   * The events this unit of work records come after these positions of other feeds (what it read or
   * reacts to, or the caller's session): they go out in `meta.after`, and a consumer that follows one of
   * those feeds applies them only once it has applied that feed up to there.
   */
  dependsOn(...positions: Array<ConsistencyToken | string | undefined>): void
  /**
   * Runs `then` once the transaction this unit of work is in has committed, never if it rolls back (a
   * report, an alert: what must not go out for a change that did not happen, or twice for one that was
   * tried again). A failure of `then` is swallowed: the work is done.
   */
  afterCommit(then: () => void): void
  /**
   * Sends a write with the unit's events, at its end, in one statement with them: for the last thing a
   * command writes (its aggregate's row), which nothing in the unit reads back. The unit's writes must
   * touch different rows (see `withWrites`). A command that sent no statement before then commits in one
   * round trip: no BEGIN, no COMMIT.
   */
  write(write: Write): void
}

/** Units of work sharing a transaction: see `UnitOfWork.sharing`. */
export interface SharedTransaction {
  /** Runs one unit of work now; its events wait for `append`. */
  run<T>(work: (tx: CommandTx) => Promise<T>, meta?: EnvelopeMeta): Promise<T>
  /**
   * Appends every unit's events to the outbox in one statement (with the writes still held, see
   * `CommandTx.write`), on the transaction or `via`; returns them per unit, in the order the units ran.
   */
  append(via?: Queryable): Promise<Envelope[][]>
  /** What each unit asked to run after the commit (`CommandTx.afterCommit`), per unit in the order they ran: run them once it has (`runHooks`). */
  afterCommit(): Array<Array<() => void>>
}

export interface Committed<T> {
  result: T
  events: Envelope[]
  /** Where the command's last event sits in the feed; absent when it recorded none. */
  token?: ConsistencyToken
}

export interface UnitOfWorkOptions {
  db: Database
  schema: string
  /** The feed this service produces, e.g. 'board.post'. */
  source: string
  clock?: Clock
  newId?: IdGenerator
  dispatcher?: Dispatcher<Queryable>
  signals?: FeedSignals
  notifier?: FeedNotifier
  /** Largest event data accepted, in bytes of JSON (default 256 KiB). */
  maxEventBytes?: number
  /** How long an idempotency key of this schema is remembered (default 24 h). */
  idempotencyRetentionMs?: number
}

/**
 * One command, one transaction: the work saves state and records events; the events are stamped, handed
 * to in-transaction handlers, appended to the outbox and committed together. After the commit the feed is
 * signalled and after-commit handlers run; nothing is published from here.
 */
export class UnitOfWork {
  private readonly clock: Clock
  private readonly newId: IdGenerator
  /** The keyed commands of this schema: where a request's `Idempotency-Key` and its answer are kept. */
  readonly idempotencyKeys: IdempotencyKeys

  constructor(private readonly options: UnitOfWorkOptions) {
    this.clock = options.clock ?? systemClock
    this.newId = options.newId ?? (() => uuidv7(this.clock.now().getTime()))
    this.idempotencyKeys = new IdempotencyKeys(options.db, options.schema, { clock: this.clock, retentionMs: options.idempotencyRetentionMs })
  }

  get source(): string {
    return this.options.source
  }

  /**
   * Runs the command in its own transaction. Within a request with an `Idempotency-Key` (see `runKeyed`)
   * the transaction's last statement claims the key and records the outcome, or, if the key's command ran
   * before, its recorded outcome is returned and nothing runs.
   */
  async run<T>(work: (tx: CommandTx) => Promise<T>, meta: EnvelopeMeta = {}): Promise<Committed<T>> {
    const keyed = takeKeyedCommand()
    if (keyed?.replay) return { ...(keyed.replay as { result: T; token?: ConsistencyToken }), events: [] }
    // Begun by the work's first statement: a command that only writes commits in one statement.
    const tx = new LazyTransaction(this.options.db)
    try {
      const shared = this.sharing(tx, { holdWrites: true })
      const result = await shared.run(work, meta)
      const [events] = await tx.commit(
        async (q) => {
          const appended = await shared.append(q)
          await keyed?.record(q, { result, ...this.tokenOf(appended[0]!) })
          return appended
        },
        { oneStatement: keyed === undefined },
      )
      if (keyed) keyed.recorded = true
      runHooks(shared.afterCommit()[0]!)
      return { result, ...(await this.committed(events!)) }
    } catch (error) {
      await tx.rollback(error)
      throw error
    }
  }

  /**
   * The unit of work inside a transaction someone else owns, e.g. a consumer's page: state and events are
   * written in it. Once that transaction has committed (a consumer's `afterCommit`), call the returned
   * `afterCommit` and `committed(events)`, so the unit's own hooks run, the feed is signalled and
   * after-commit handlers run.
   */
  async within<T>(q: Queryable, work: (tx: CommandTx) => Promise<T>, meta: EnvelopeMeta = {}): Promise<{ result: T; events: Envelope[]; afterCommit: () => void }> {
    const shared = this.sharing(q, { holdWrites: true })
    const result = await shared.run(work, meta)
    const [events] = await shared.append()
    const [hooks] = shared.afterCommit()
    return { result, events: events!, afterCommit: () => runHooks(hooks!) }
  }

  /**
   * Several units of work in one transaction someone else owns (a consumer's page, one per message): each
   * runs with its own meta and its in-transaction handlers as `within` would, and their events go to the
   * outbox together, in one statement, when `append` is called.
   */
  sharing(q: Queryable, options: { holdWrites?: boolean } = {}): SharedTransaction {
    const units: Envelope[][] = []
    const hooks: Array<Array<() => void>> = []
    // One unit's writes may wait for its events (they touch different rows); units of a page may write one row twice.
    const held: Write[] = []
    const { dispatcher } = this.options
    return {
      run: async (work, meta = {}) => {
        const recorded: Event[] = []
        const writes: Write[] = []
        const then: Array<() => void> = []
        const after: Array<ConsistencyToken | string> = [...(meta.after ?? [])]
        const tx: CommandTx = {
          query: (sql, params) => q.query(sql, params),
          record: (...e) => recorded.push(...e),
          dependsOn: (...positions) => after.push(...positions.filter((p) => p !== undefined)),
          afterCommit: (hook) => then.push(hook),
          write: (write) => writes.push(write),
        }
        const result = await work(tx)
        const envelopes = recorded.map((e) => this.stamp(e, meta, after))
        // In-transaction handlers may read what the unit wrote.
        const handled = dispatcher?.handlesInTransaction(envelopes) ?? false
        if (options.holdWrites && !handled) held.push(...writes)
        else await runWrites(q, writes)
        if (handled) await dispatcher!.dispatchInTransaction(q, envelopes)
        units.push(envelopes)
        hooks.push(then)
        return result
      },
      append: async (via = q) => {
        const appended = await appendToOutbox(via, this.options.schema, units.flat(), this.options.maxEventBytes, held.splice(0))
        let from = 0
        return units.map((unit) => appended.slice(from, (from += unit.length)))
      },
      afterCommit: () => hooks,
    }
  }

  /** After the commit: wakes the feed's readers, runs after-commit handlers, returns the consistency token. */
  async committed(events: Envelope[]): Promise<{ events: Envelope[]; token?: ConsistencyToken }> {
    const { source, dispatcher, signals, notifier } = this.options
    if (events.length > 0) {
      signals?.notify(source)
      notifier?.committed(source)
      if (dispatcher) await dispatcher.dispatchAfterCommit(events)
    }
    return { events, ...this.tokenOf(events) }
  }

  private tokenOf(events: readonly Envelope[]): { token?: ConsistencyToken } {
    const position = events.at(-1)?.position
    return position ? { token: { source: this.options.source, position } } : {}
  }

  /**
   * An event as it goes into the outbox. Its meta is the unit of work's, overridden by the event's own; the
   * positions it comes after are both's together, one per feed and well-formed (consumers refuse others).
   */
  private stamp(e: Event, meta: EnvelopeMeta, after: ReadonlyArray<ConsistencyToken | string>): Envelope {
    const merged = e.meta ? { ...meta, ...e.meta } : meta
    const positions = [...after, ...(e.meta?.after ?? [])]
    const envelope: Envelope = {
      id: e.id ?? this.newId(),
      type: e.type,
      source: this.options.source,
      key: e.key,
      occurredAt: this.clock.now().toISOString(),
      data: e.data,
      meta: positions.length > 0 || merged.after ? withAfter(merged, positions) : merged,
    }
    if (e.version !== undefined) envelope.version = e.version
    return envelope
  }
}

/** Runs what units of work asked to run after their commit; one that throws does not stop the others. */
export function runHooks(hooks: ReadonlyArray<() => void>): void {
  for (const hook of hooks) {
    try {
      hook()
    } catch {
      // The transaction committed: a report that failed changes nothing of it.
    }
  }
}
