import {
  CallBatches,
  FINAL_SAGA_STATUSES,
  noAlerts,
  SagaMachine,
  systemClock,
  TidingsError,
  uuidv7,
  type Alerts,
  type Clock,
  type ConsumerDefinition,
  type Envelope,
  type RetryPolicy,
  type SagaDefinition,
  type SagaInstance,
  type SagaStatus,
  type SagaTimer,
  type SagaTransition,
} from '@tidings/core'
import type { Database, Queryable } from '../database/database'
import { migrate } from '../database/migrations'
import { reactor } from '../commands/reactor'
import type { CommandTx, UnitOfWork } from '../commands/unit-of-work'
import { batchHandler, cancelling, scheduling, type ScheduledHandler } from '../scheduler/scheduler'
import { runWrites, type Write } from '../database/writes'
import { historyRows, SagaChanges } from './saga-changes'
import { sagaMigrations, SagaStore, type SagaHistoryLine, type SagaListFilter, type StoredSaga } from './saga-store'

/** The scheduled message type of every saga timer (a step's timeout, a compensation's timeout or resend). */
export const SAGA_TIMER = 'tidings.SagaTimer'

/** What a runner reports as sagas move, e.g. to metrics. */
export interface SagaObserver {
  started?(type: string): void
  ended?(type: string, status: SagaStatus): void
  /** A step's reply came this long after its command was sent. */
  stepDone?(type: string, step: string, ms: number): void
}

export interface SagaRunnerOptions {
  db: Database
  /** The orchestrator's schema: its sagas, their history and timers. */
  schema: string
  /** The orchestrator's unit of work: its feed carries the commands to the participants. */
  uow: UnitOfWork
  // Each definition has its own state type: the runner stores them all as JSON.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sagas: ReadonlyArray<SagaDefinition<any>>
  /** Told when a saga is parked `FAILED`. */
  alerts?: Alerts
  observer?: SagaObserver
  clock?: Clock
}

export class SagaNotFound extends TidingsError {
  constructor(id: string) {
    super('SAGA_NOT_FOUND', 'not_found', `No saga ${id}`, { id })
  }
}

export class SagaNotFailed extends TidingsError {
  constructor(id: string, status: SagaStatus) {
    super('SAGA_NOT_FAILED', 'conflict', `Saga ${id} is ${status}: only a FAILED saga can be retried`, { id, status })
  }
}

export interface StartedSaga<S> {
  id: string
  /** False when a saga with this id existed already (a retried request): nothing new was started. */
  started: boolean
  saga: SagaInstance<S>
}

/**
 * Runs sagas from the orchestrator's database. Every change of a saga — its row, its history, the commands
 * it sends (on the orchestrator's feed, with the saga as their correlation) and its timers (scheduled
 * messages) — is written in one transaction with what caused it: the command that started it, the inbox
 * row of the reply (the `replies` consumer), the delivery of the timer. A reply locks its saga's row, so
 * replies to one saga apply one at a time; a crash anywhere leaves the saga where its last commit put it.
 */
export class SagaRunner {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly machines = new Map<string, SagaMachine<any>>()
  private readonly store: SagaStore
  private readonly clock: Clock
  private readonly finds = new CallBatches(async (ids: string[]) => {
    const found = await this.store.findAll(this.options.db, ids)
    return ids.map((id) => found.get(id))
  })

  constructor(private readonly options: SagaRunnerOptions) {
    for (const definition of options.sagas) {
      if (this.machines.has(definition.name)) throw new Error(`two sagas named ${definition.name}`)
      this.machines.set(definition.name, new SagaMachine(definition))
    }
    this.store = new SagaStore(options.schema)
    this.clock = options.clock ?? systemClock
  }

  /** Creates the saga tables in the orchestrator's schema (its platform tables must exist: `openProducer`). */
  async migrate(): Promise<void> {
    await migrate(this.options.db, this.options.schema, 'tidings.sagas', sagaMigrations)
  }

  get types(): string[] {
    return [...this.machines.keys()]
  }

  /**
   * Starts a saga in the caller's command transaction: it exists, and its first command is sent, exactly
   * when that command commits. With a caller-chosen `id` a second start (a retried request) starts nothing
   * and returns the saga as it is.
   */
  async start<S>(tx: CommandTx, definition: SagaDefinition<S>, state: S, options: { id?: string } = {}): Promise<StartedSaga<S>> {
    const machine = this.machineOf(definition.name)
    const id = options.id ?? uuidv7(this.clock.now().getTime())
    const transition = machine.begin(id, state) as SagaTransition<S>
    const changes = new SagaChanges()
    const { existing } = await this.apply(tx, changes, { ...transition.instance, status: 'RUNNING', history: 0 }, transition, { timersCancelled: true, starts: true })
    if (existing) return { id, started: false, saga: existing as SagaInstance<S> }
    // Its row and history are written (apply); its timer goes with its command, in the outbox's statement.
    for (const write of this.writes(changes)) tx.write(write)
    tx.afterCommit(() => this.options.observer?.started?.(definition.name))
    return { id, started: true, saga: transition.instance }
  }

  /**
   * The consumer of the participants' replies: each is matched to its saga by correlation id and applied
   * exactly once (the reply's inbox row commits with the saga's change). Events of those feeds that belong to
   * no saga pass by. A page of replies locks its sagas in one statement and writes what they changed in
   * one, however many replies it holds.
   */
  replies(name: string, follows: readonly string[], retry?: Partial<RetryPolicy>): ConsumerDefinition<Queryable> {
    return reactor<SagaPage>(this.options.uow, {
      name,
      follows,
      ...(retry ? { retry } : {}),
      page: {
        open: async (q, messages) => {
          const ids = [...new Set(messages.map((m) => m.meta.correlationId).filter((id) => id !== undefined))]
          return { sagas: await this.store.lockAll(q, ids), changes: new SagaChanges() }
        },
        close: (q, page) => this.write(q, page.changes),
      },
      react: (tx, message, page) => this.onReply(tx, message, page),
    })
  }

  /**
   * Merge into the orchestrator's scheduler's handlers: the sagas' timers. A batch of due timers locks its
   * sagas in one statement and writes what they changed in one, as a page of replies does.
   */
  get scheduledHandlers(): Record<string, ScheduledHandler> {
    return { [SAGA_TIMER]: batchHandler((tx, messages) => this.onTimers(tx, messages.map((m) => m.data as TimerData))) }
  }

  /** An operator's retry of a saga parked `FAILED`: its compensation is tried again from the first attempt. */
  async retry(id: string): Promise<SagaInstance> {
    const { result } = await this.options.uow.run(
      async (tx) => {
        const saga = await this.store.lock(tx, id)
        if (!saga || !this.machines.has(saga.type)) throw new SagaNotFound(id)
        const transition = this.machineOf(saga.type).retry(saga)
        if (!transition) throw new SagaNotFailed(id, saga.status)
        const changes = new SagaChanges()
        await this.apply(tx, changes, saga, transition)
        await this.write(tx, changes)
        return transition.instance
      },
      { correlationId: id },
    )
    return result
  }

  /**
   * The saga as it is now. Reads asked for in one turn of the event loop are one query: the routes that
   * wait for their sagas' outcomes all read again when a page of replies commits.
   */
  async find(id: string): Promise<StoredSaga | undefined> {
    return this.finds.call(id)
  }

  async history(id: string): Promise<SagaHistoryLine[]> {
    return this.store.history(this.options.db, id)
  }

  async list(filter: SagaListFilter & { limit?: number } = {}): Promise<StoredSaga[]> {
    return this.store.list(this.options.db, { ...filter, limit: Math.min(filter.limit ?? 50, 500) })
  }

  async open(): Promise<Array<{ type: string; status: SagaStatus; count: number }>> {
    return this.store.open(this.options.db)
  }

  /** A reply, applied to its saga as earlier replies of the page left it (the page writes the changes). */
  private async onReply(tx: CommandTx, reply: Envelope, page: SagaPage): Promise<void> {
    const id = reply.meta.correlationId
    const saga = id === undefined ? undefined : page.sagas.get(id)
    const machine = saga && this.machines.get(saga.type)
    if (!saga || !machine) return
    const transition = machine.reply(saga, reply)
    if (!transition) return
    if (saga.status === 'RUNNING') {
      const [step, ms] = [machine.definition.steps[saga.step]!.name, this.clock.now().getTime() - saga.updatedAt.getTime()]
      tx.afterCommit(() => this.options.observer?.stepDone?.(saga.type, step, ms))
    }
    await this.advance(tx, page, saga, transition)
  }

  /** Due timers, applied in their order to their sagas, locked at once; their changes written in one statement. */
  private async onTimers(tx: CommandTx, timers: readonly TimerData[]): Promise<void> {
    const page: SagaPage = { sagas: await this.store.lockAll(tx, [...new Set(timers.map((t) => t.sagaId))]), changes: new SagaChanges() }
    for (const timer of timers) {
      const saga = page.sagas.get(timer.sagaId)
      const transition = saga && this.machines.get(saga.type)?.timer(saga, timer)
      // The timer that fires was deleted as it was claimed: there is none to cancel.
      if (transition) await this.advance(tx, page, saga, transition, { timersCancelled: true })
    }
    await this.write(tx, page.changes)
  }

  /** Applies a transition to a saga of a page (replies or timers) and keeps the saga as it left it, for the next. */
  private async advance(tx: CommandTx, page: SagaPage, saga: StoredSaga & { history: number }, transition: SagaTransition<unknown>, cause?: { timersCancelled: boolean }): Promise<void> {
    const now = this.clock.now()
    const { after } = await this.apply(tx, page.changes, saga, transition, cause)
    const final = FINAL_SAGA_STATUSES.includes(after.status)
    page.sagas.set(saga.id, { ...after, startedAt: saga.startedAt, updatedAt: now, endedAt: final ? now : null })
  }

  /**
   * Applies a transition in the transaction of its cause: the commands and events it sends are recorded,
   * its row, history and timers gathered in `changes` (see `write`), and it is reported once that commits. The first
   * transition (`starts`) inserts the row and history at once, in one statement, unless the saga exists: then
   * nothing is done and the `existing` saga is returned. Returns the saga as the transition left it (`after`).
   */
  private async apply(
    tx: CommandTx,
    changes: SagaChanges,
    before: SagaInstance & { history: number },
    transition: SagaTransition<unknown>,
    cause: { timersCancelled?: boolean; starts?: boolean } = {},
  ): Promise<{ after: SagaInstance & { history: number }; existing?: StoredSaga }> {
    const now = this.clock.now()
    const awaiting = transition.command ? uuidv7(now.getTime()) : undefined
    const instance: SagaInstance = { ...transition.instance, ...(awaiting ? { awaiting } : {}) }
    const final = FINAL_SAGA_STATUSES.includes(instance.status)
    const history = before.history + transition.history.length
    if (cause.starts) {
      const existing = await this.store.insert(tx, instance, historyRows(instance.id, 0, transition.history, now), now, final)
      if (existing) return { after: existing, existing }
    } else changes.changed(instance, before.history, transition.history, now, final)
    const meta = { correlationId: instance.id }
    if (transition.command) tx.record({ id: awaiting!, type: transition.command.type, key: transition.command.key ?? instance.id, data: transition.command.data, meta })
    for (const event of transition.events) tx.record({ type: event.type, key: event.key ?? instance.id, data: event.data, meta })
    if (transition.timers) this.replaceTimers(changes, before, transition.timers, cause.timersCancelled ?? false, now)
    // Reported once committed: never for a change rolled back, nor twice for a page applied again.
    if (final && before.status !== instance.status) tx.afterCommit(() => this.options.observer?.ended?.(instance.type, instance.status))
    const parked = transition.parked
    if (parked) {
      tx.afterCommit(() =>
        (this.options.alerts ?? noAlerts).raise({
          kind: 'saga_failed',
          code: 'SAGA_FAILED',
          where: instance.type,
          message: `saga ${instance.id} is parked FAILED: ${parked.reason}`,
          details: { sagaId: instance.id, step: instance.step },
        }),
      )
    }
    return { after: { ...instance, history } }
  }

  /** Cancels the timers the saga had in its previous step and attempt, and schedules the ones it needs now. */
  private replaceTimers(changes: SagaChanges, before: SagaInstance, timers: readonly SagaTimer[], cancelled: boolean, now: Date): void {
    if (!cancelled) changes.cancel(TIMER_KINDS.map((kind) => timerId(before.id, { kind, step: before.step, attempt: before.attempt })))
    for (const timer of timers) {
      const data: TimerData = { sagaId: before.id, kind: timer.kind, step: timer.step, attempt: timer.attempt }
      changes.schedule({ id: timerId(before.id, timer), type: SAGA_TIMER, key: before.id, data, dueAt: new Date(now.getTime() + timer.dueInMs) })
    }
  }

  /**
   * Writes what the transitions of this transaction changed in one statement: rows, history, timers. A
   * timer cancelled and scheduled again is only scheduled (that replaces it), so no two writes touch a row.
   */
  private async write(tx: Queryable, changes: SagaChanges): Promise<void> {
    await runWrites(tx, this.writes(changes))
  }

  private writes(changes: SagaChanges): Write[] {
    const { schema } = this.options
    const cancelled = [...changes.cancelled].filter((id) => !changes.scheduled.has(id))
    return [...this.store.writes(changes), ...cancelling(schema, cancelled), ...scheduling(schema, [...changes.scheduled.values()])]
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private machineOf(type: string): SagaMachine<any> {
    const machine = this.machines.get(type)
    if (!machine) throw new Error(`saga ${type} is not one this runner runs`)
    return machine
  }
}

/** A page of replies or a batch of timers: its sagas, locked at its start and kept as it changes them, and what it changed. */
interface SagaPage {
  sagas: Map<string, StoredSaga & { history: number }>
  changes: SagaChanges
}

interface TimerData {
  sagaId: string
  kind: SagaTimer['kind']
  step: number
  attempt: number
}

const TIMER_KINDS: ReadonlyArray<SagaTimer['kind']> = ['step_timeout', 'compensation_timeout', 'resend']

function timerId(sagaId: string, timer: Pick<SagaTimer, 'kind' | 'step' | 'attempt'>): string {
  return `${SAGA_TIMER}:${sagaId}:${timer.kind}:${timer.step}:${timer.attempt}`
}
