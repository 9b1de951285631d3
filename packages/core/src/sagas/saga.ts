import type { Envelope } from '../envelope'
import type { RetryPolicy } from '../retry-policy'

/** A message the orchestrator sends a participant: recorded on its feed, keyed by the saga unless told. */
export interface SagaCommand {
  type: string
  data: unknown
  key?: string
}

/** What a reply handler returns to end the flow: the participant refused, so the completed steps are undone. */
export interface SagaFailure<S> {
  readonly failed: true
  readonly state: S
  readonly reason: string
}

export type ReplyHandler<S> = (state: S, reply: Envelope) => S | SagaFailure<S>

/** A duration as `250ms`, `30s`, `5m`, `1h`, or milliseconds. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h'}`

export interface Compensation<S> {
  send: (state: S) => SagaCommand
  /** The participant's answer that the step is undone. */
  reply: string
  /** Its answer that it could not undo it this time (retried with backoff, like no answer at all). */
  failure?: string
  /** What the answer that the step is undone tells the saga, e.g. how much was given back (default: nothing). */
  settled?: (state: S, reply: Envelope) => S
  /** How long to wait for an answer before trying again (default: the saga's `compensationTimeout`). */
  timeout?: Duration
}

export interface SagaStep<S> {
  readonly name: string
  readonly action?: (state: S) => SagaCommand
  readonly replies: ReadonlyMap<string, ReplyHandler<S>>
  readonly compensation?: Compensation<S>
  /** Declared when the step's action changes nothing that would need undoing (a check, a read). */
  readonly undoesNothing?: boolean
  readonly timeoutMs?: number
}

/** A step as it is written: `step('debit').invoke(…).onReply(…).compensate(…).timeout('30s')`. */
export class StepBuilder<S> implements SagaStep<S> {
  action?: (state: S) => SagaCommand
  replies = new Map<string, ReplyHandler<S>>()
  compensation?: Compensation<S>
  undoesNothing?: boolean
  timeoutMs?: number

  constructor(readonly name: string) {}

  /** Sends this command when the step begins. */
  invoke(command: (state: S) => SagaCommand): this {
    this.action = command
    return this
  }

  /** A reply that ends the step: the next state, or `fail(state, reason)` to undo what came before. */
  onReply(type: string, handle: ReplyHandler<S> = (s) => s): this {
    this.replies.set(type, handle)
    return this
  }

  /** How to undo this step once it has been done, and the reply that says it was undone. */
  compensate(send: (state: S) => SagaCommand, answers: Omit<Compensation<S>, 'send'>): this {
    this.compensation = { send, ...answers }
    return this
  }

  /** The step's action has nothing to undo (it only checks or reads): a timeout need not compensate it. */
  nothingToUndo(): this {
    this.undoesNothing = true
    return this
  }

  /** A participant that has not replied after this long has failed the step: what was done is undone (default: the saga's `stepTimeout`). */
  timeout(duration: Duration): this {
    this.timeoutMs = durationMs(duration)
    return this
  }
}

export interface SagaDefinition<S> {
  /** The saga type, e.g. `concert.pay-for-seat`. */
  readonly name: string
  readonly steps: ReadonlyArray<SagaStep<S>>
  /** Recorded on the orchestrator's feed when every step is done. */
  readonly completed?: (state: S) => SagaCommand
  /** Recorded when every done step has been undone (the saga failed cleanly). */
  readonly compensated?: (state: S, reason: string) => SagaCommand
  /** How long a step waits for its reply when it does not say (default 5 min). */
  readonly stepTimeoutMs: number
  /** How long a compensation waits for its reply before it is sent again (default 30 s). */
  readonly compensationTimeoutMs: number
  /** How often a compensation is tried, and how far apart, before the saga is parked `FAILED` (default 5, 1 s doubling to 1 min). */
  readonly compensationRetry: RetryPolicy
}

export interface SagaOptions<S> {
  name: string
  steps: ReadonlyArray<SagaStep<S>>
  completed?: (state: S) => SagaCommand
  compensated?: (state: S, reason: string) => SagaCommand
  stepTimeout?: Duration
  compensationTimeout?: Duration
  compensationRetry?: Partial<RetryPolicy>
}

export const DEFAULT_COMPENSATION_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 }

/** A saga type: a typed state and ordered steps. Pure: it decides what to send, the runner does the sending. */
export function saga<S>(options: SagaOptions<S>): SagaDefinition<S> {
  const names = new Set<string>()
  for (const s of options.steps) {
    if (names.has(s.name)) throw new Error(`saga ${options.name}: two steps named ${s.name}`)
    names.add(s.name)
    if (!s.action) throw new Error(`saga ${options.name}: step ${s.name} sends nothing`)
    if (s.replies.size === 0) throw new Error(`saga ${options.name}: step ${s.name} expects no reply`)
    // Every step can time out, and a step that timed out may still have happened: it must be undoable.
    if (!s.compensation && !s.undoesNothing) throw new Error(`saga ${options.name}: step ${s.name} must say how it is undone (compensate) or that it changes nothing (nothingToUndo)`)
  }
  return {
    name: options.name,
    steps: options.steps,
    ...(options.completed ? { completed: options.completed } : {}),
    ...(options.compensated ? { compensated: options.compensated } : {}),
    stepTimeoutMs: durationMs(options.stepTimeout ?? '5m'),
    compensationTimeoutMs: durationMs(options.compensationTimeout ?? '30s'),
    compensationRetry: { ...DEFAULT_COMPENSATION_RETRY, ...options.compensationRetry },
  }
}

export function step<S>(name: string): StepBuilder<S> {
  return new StepBuilder<S>(name)
}

export function command(type: string, data: unknown, key?: string): SagaCommand {
  return key === undefined ? { type, data } : { type, data, key }
}

export function fail<S>(state: S, reason: string): SagaFailure<S> {
  return { failed: true, state, reason }
}

export function isSagaFailure<S>(outcome: S | SagaFailure<S>): outcome is SagaFailure<S> {
  return typeof outcome === 'object' && outcome !== null && (outcome as { failed?: unknown }).failed === true && 'reason' in outcome
}

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

export function durationMs(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!(Number.isFinite(duration) && duration > 0)) throw new Error(`a duration must be positive, not ${duration}`)
    return duration
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration)
  if (!match) throw new Error(`not a duration: ${duration}`)
  return durationMs(Number(match[1]) * UNITS[match[2] as keyof typeof UNITS])
}
