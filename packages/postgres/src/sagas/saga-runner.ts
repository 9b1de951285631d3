import {
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
import { schemaName } from '../database/sql'
import { reactor } from '../commands/reactor'
import type { CommandTx, UnitOfWork } from '../commands/unit-of-work'
import { scheduleMessage, type ScheduledHandler } from '../scheduler/scheduler'
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
    const existing = await this.apply(tx, { ...transition.instance, status: 'RUNNING', history: 0 }, transition, { timersCancelled: true, starts: true })
    if (existing) return { id, started: false, saga: existing as SagaInstance<S> }
    this.options.observer?.started?.(definition.name)
    return { id, started: true, saga: transition.instance }
  }

  /**
   * The consumer of the participants' replies: each is matched to its saga by correlation id and applied
   * exactly once (the reply's inbox row commits with the saga's change). Events of those feeds that belong to
   * no saga pass by.
   */
  replies(name: string, follows: readonly string[], retry?: Partial<RetryPolicy>): ConsumerDefinition<Queryable> {
    return reactor(this.options.uow, { name, follows, ...(retry ? { retry } : {}), react: (tx, message) => this.onReply(tx, message) })
  }

  /** Merge into the orchestrator's scheduler's handlers: the sagas' timers. */
  get scheduledHandlers(): Record<string, ScheduledHandler> {
    return { [SAGA_TIMER]: (tx, message) => this.onTimer(tx, message.data as TimerData) }
  }

  /** An operator's retry of a saga parked `FAILED`: its compensation is tried again from the first attempt. */
  async retry(id: string): Promise<SagaInstance> {
    const { result } = await this.options.uow.run(
      async (tx) => {
        const saga = await this.store.lock(tx, id)
        if (!saga || !this.machines.has(saga.type)) throw new SagaNotFound(id)
        const transition = this.machineOf(saga.type).retry(saga)
        if (!transition) throw new SagaNotFailed(id, saga.status)
        await this.apply(tx, saga, transition)
        return transition.instance
      },
      { correlationId: id },
    )
    return result
  }

  async find(id: string): Promise<StoredSaga | undefined> {
    return this.store.find(this.options.db, id)
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

  private async onReply(tx: CommandTx, reply: Envelope): Promise<void> {
    const { saga, machine } = await this.locked(tx, reply.meta.correlationId)
    if (!saga || !machine) return
    const transition = machine.reply(saga, reply)
    if (!transition) return
    if (saga.status === 'RUNNING') this.options.observer?.stepDone?.(saga.type, machine.definition.steps[saga.step]!.name, this.clock.now().getTime() - saga.updatedAt.getTime())
    await this.apply(tx, saga, transition)
  }

  private async onTimer(tx: CommandTx, timer: TimerData): Promise<void> {
    const { saga, machine } = await this.locked(tx, timer.sagaId)
    if (!saga || !machine) return
    const transition = machine.timer(saga, timer)
    // The saga's one timer is this one, deleted as it was claimed: there is none to cancel.
    if (transition) await this.apply(tx, saga, transition, { timersCancelled: true })
  }

  /** The saga, locked for this transaction, and its rules; neither when it is none of this runner's. */
  private async locked(tx: CommandTx, id: string | undefined) {
    const saga = id === undefined ? undefined : await this.store.lock(tx, id)
    return { saga, machine: saga && this.machines.get(saga.type) }
  }

  /**
   * Writes a transition in the transaction of its cause: the row and history, the commands, the timers, then
   * says so. The first transition (`starts`) inserts the row, unless the saga exists: then nothing is
   * written and the saga is returned.
   */
  private async apply(
    tx: CommandTx,
    before: SagaInstance & { history: number },
    transition: SagaTransition<unknown>,
    cause: { timersCancelled?: boolean; starts?: boolean } = {},
  ): Promise<StoredSaga | undefined> {
    const awaiting = transition.command ? uuidv7(this.clock.now().getTime()) : undefined
    const instance: SagaInstance = { ...transition.instance, ...(awaiting ? { awaiting } : {}) }
    const final = FINAL_SAGA_STATUSES.includes(instance.status)
    if (cause.starts) {
      const existing = await this.store.insert(tx, instance, transition.history, this.clock.now(), final)
      if (existing) return existing
    } else await this.store.update(tx, instance, before.history, transition.history, this.clock.now(), final)
    const meta = { correlationId: instance.id }
    if (transition.command) tx.record({ id: awaiting!, type: transition.command.type, key: transition.command.key ?? instance.id, data: transition.command.data, meta })
    for (const event of transition.events) tx.record({ type: event.type, key: event.key ?? instance.id, data: event.data, meta })
    if (transition.timers) await this.replaceTimers(tx, before, transition.timers, cause.timersCancelled ?? false)
    if (final && before.status !== instance.status) this.options.observer?.ended?.(instance.type, instance.status)
    if (transition.parked) {
      ;(this.options.alerts ?? noAlerts).raise({
        kind: 'saga_failed',
        code: 'SAGA_FAILED',
        where: instance.type,
        message: `saga ${instance.id} is parked FAILED: ${transition.parked.reason}`,
        details: { sagaId: instance.id, step: instance.step },
      })
    }
  }

  /** Cancels the timers the saga had in its previous step and attempt, and schedules the ones it needs now. */
  private async replaceTimers(tx: CommandTx, before: SagaInstance, timers: readonly SagaTimer[], cancelled: boolean): Promise<void> {
    if (!cancelled) {
      const previous = TIMER_KINDS.map((kind) => timerId(before.id, { kind, step: before.step, attempt: before.attempt }))
      await tx.query(`DELETE FROM ${schemaName(this.options.schema)}.scheduled_messages WHERE id = ANY($1::text[])`, [previous])
    }
    const now = this.clock.now().getTime()
    for (const timer of timers) {
      const data: TimerData = { sagaId: before.id, kind: timer.kind, step: timer.step, attempt: timer.attempt }
      await scheduleMessage(tx, this.options.schema, { id: timerId(before.id, timer), type: SAGA_TIMER, key: before.id, data, dueAt: new Date(now + timer.dueInMs) })
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private machineOf(type: string): SagaMachine<any> {
    const machine = this.machines.get(type)
    if (!machine) throw new Error(`saga ${type} is not one this runner runs`)
    return machine
  }
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
