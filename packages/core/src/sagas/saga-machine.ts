import type { Envelope } from '../envelope'
import { isExhausted, retryDelayMs } from '../retry-policy'
import { durationMs, isSagaFailure, type SagaCommand, type SagaDefinition } from './saga'

export type SagaStatus = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'COMPENSATED' | 'FAILED'

export const FINAL_SAGA_STATUSES: readonly SagaStatus[] = ['COMPLETED', 'COMPENSATED', 'FAILED']

/** One saga as stored: its state and where it stands. */
export interface SagaInstance<S = unknown> {
  id: string
  type: string
  status: SagaStatus
  state: S
  /** RUNNING: the step waiting for its reply. COMPENSATING or FAILED: the step being undone. Final: the last one. */
  step: number
  /** Tries of what the current step is doing: its action (always 1) or its compensation (1, 2, …). */
  attempt: number
  /** Why it is being undone: a participant's refusal, or a step that timed out. */
  reason?: string
  /** The id of the command whose reply the saga waits for; replies to any other (late, repeated) change nothing. */
  awaiting?: string
}

/** What happened, as a line of the saga's history. */
export interface SagaHistoryEntry {
  step: string
  outcome:
    | 'sent'
    | 'replied'
    | 'refused'
    | 'timed_out'
    | 'compensating'
    | 'compensated'
    | 'compensation_failed'
    | 'completed'
    | 'failed'
    | 'retried'
  attempt: number
  /** The reply's type, the refusal's reason, the error. */
  detail?: string
}

/** A timer the saga needs while it waits: a step's timeout, or when to send a compensation again. */
export interface SagaTimer {
  kind: 'step_timeout' | 'compensation_timeout' | 'resend'
  step: number
  attempt: number
  dueInMs: number
}

/** What a transition asks the runner to do, in the transaction that stores the new instance. */
export interface SagaTransition<S> {
  /** The new instance; its `awaiting` is the id the runner gives `command`, or none. */
  instance: SagaInstance<S>
  /** The command to a participant whose reply the saga now waits for. */
  command?: SagaCommand
  /** The saga's own events (completed, compensated). */
  events: SagaCommand[]
  /** Every timer the saga needs now, replacing any it had; absent: the timers stay as they are. */
  timers?: SagaTimer[]
  history: SagaHistoryEntry[]
  /** Set when the saga was parked `FAILED`. */
  parked?: { reason: string }
}

/**
 * The saga's rules, as pure functions of the stored instance and what just happened. A compensation runs
 * for each step done, last first; a step that timed out is compensated too (its effect is unknown, so its
 * compensation must be a no-op at the participant when the action never happened, and must stop a late
 * action from applying). A compensation is sent again on its failure reply or on no reply, with backoff,
 * until the retry policy gives up: the saga is then `FAILED` until an operator retries it.
 */
export class SagaMachine<S> {
  constructor(readonly definition: SagaDefinition<S>) {}

  begin(id: string, state: S): SagaTransition<S> {
    const instance: SagaInstance<S> = { id, type: this.definition.name, status: 'RUNNING', state, step: 0, attempt: 1 }
    return awaitingNothing(this.invoke(instance, 0, []))
  }

  /** A participant's reply. One the saga is not waiting for (late, repeated, of another step) changes nothing. */
  reply(instance: SagaInstance<S>, reply: Envelope): SagaTransition<S> | undefined {
    return awaitingNothing(this.replied(instance, reply))
  }

  /** A timer came due. One the saga no longer waits for (another step, an earlier attempt, a final saga) changes nothing. */
  timer(instance: SagaInstance<S>, timer: Pick<SagaTimer, 'kind' | 'step' | 'attempt'>): SagaTransition<S> | undefined {
    return awaitingNothing(this.timedOut(instance, timer))
  }

  /** An operator's retry of a `FAILED` saga: its compensation starts again from the first attempt. */
  retry(instance: SagaInstance<S>): SagaTransition<S> | undefined {
    if (instance.status !== 'FAILED') return undefined
    const step = this.definition.steps[instance.step]!
    const history: SagaHistoryEntry[] = [{ step: step.name, outcome: 'retried', attempt: 1 }]
    return awaitingNothing(this.sendCompensation({ ...instance, status: 'COMPENSATING', attempt: 1 }, history))
  }

  private replied(instance: SagaInstance<S>, reply: Envelope): SagaTransition<S> | undefined {
    if (!instance.awaiting || reply.meta.causationId !== instance.awaiting) return undefined
    const step = this.definition.steps[instance.step]!
    if (instance.status === 'RUNNING') {
      const handle = step.replies.get(reply.type)
      if (!handle) return undefined
      const outcome = handle(instance.state, reply)
      if (isSagaFailure(outcome)) {
        const history: SagaHistoryEntry[] = [{ step: step.name, outcome: 'refused', attempt: 1, detail: outcome.reason }]
        return this.compensateFrom({ ...instance, state: outcome.state, reason: outcome.reason }, instance.step - 1, history)
      }
      const history: SagaHistoryEntry[] = [{ step: step.name, outcome: 'replied', attempt: 1, detail: reply.type }]
      return this.invoke({ ...instance, state: outcome }, instance.step + 1, history)
    }
    if (instance.status === 'COMPENSATING' && step.compensation) {
      if (reply.type === step.compensation.reply) {
        const history: SagaHistoryEntry[] = [{ step: step.name, outcome: 'compensated', attempt: instance.attempt }]
        const state = step.compensation.settled ? step.compensation.settled(instance.state, reply) : instance.state
        return this.compensateFrom({ ...instance, state }, instance.step - 1, history)
      }
      if (reply.type === step.compensation.failure) return this.compensationFailed(instance, reply.type)
    }
    return undefined
  }

  private timedOut(instance: SagaInstance<S>, timer: Pick<SagaTimer, 'kind' | 'step' | 'attempt'>): SagaTransition<S> | undefined {
    if (timer.step !== instance.step || timer.attempt !== instance.attempt) return undefined
    const step = this.definition.steps[instance.step]!
    if (instance.status === 'RUNNING' && timer.kind === 'step_timeout') {
      const history: SagaHistoryEntry[] = [{ step: step.name, outcome: 'timed_out', attempt: 1 }]
      return this.compensateFrom({ ...instance, reason: `${step.name} timed out` }, instance.step, history)
    }
    if (instance.status !== 'COMPENSATING') return undefined
    if (timer.kind === 'compensation_timeout') return this.compensationFailed(instance, 'no reply in time')
    if (timer.kind === 'resend') return this.sendCompensation({ ...instance }, [])
    return undefined
  }

  private invoke(instance: SagaInstance<S>, index: number, history: SagaHistoryEntry[]): SagaTransition<S> {
    const step = this.definition.steps[index]
    if (!step) {
      const completed = this.definition.completed?.(instance.state)
      const last = this.definition.steps.at(-1)?.name ?? ''
      return {
        instance: { ...instance, status: 'COMPLETED', step: Math.max(0, index - 1), attempt: 1 },
        events: completed ? [completed] : [],
        timers: [],
        history: [...history, { step: last, outcome: 'completed', attempt: 1 }],
      }
    }
    const next = { ...instance, status: 'RUNNING' as const, step: index, attempt: 1 }
    return {
      instance: next,
      command: step.action!(next.state),
      events: [],
      timers: [{ kind: 'step_timeout', step: index, attempt: 1, dueInMs: step.timeoutMs ?? this.definition.stepTimeoutMs }],
      history: [...history, { step: step.name, outcome: 'sent', attempt: 1 }],
    }
  }

  /** Undoes the done steps from `index` down, the next one with a compensation first. */
  private compensateFrom(instance: SagaInstance<S>, index: number, history: SagaHistoryEntry[]): SagaTransition<S> {
    let at = index
    while (at >= 0 && !this.definition.steps[at]!.compensation) at--
    if (at < 0) {
      const reason = instance.reason ?? ''
      const compensated = this.definition.compensated?.(instance.state, reason)
      return {
        instance: { ...instance, status: 'COMPENSATED', step: Math.max(0, index), attempt: 1 },
        events: compensated ? [compensated] : [],
        timers: [],
        history,
      }
    }
    return this.sendCompensation({ ...instance, status: 'COMPENSATING', step: at, attempt: 1 }, history)
  }

  private sendCompensation(instance: SagaInstance<S>, history: SagaHistoryEntry[]): SagaTransition<S> {
    const step = this.definition.steps[instance.step]!
    const compensation = step.compensation!
    const timeoutMs = compensation.timeout !== undefined ? durationMs(compensation.timeout) : this.definition.compensationTimeoutMs
    return {
      instance,
      command: compensation.send(instance.state),
      events: [],
      timers: [{ kind: 'compensation_timeout', step: instance.step, attempt: instance.attempt, dueInMs: timeoutMs }],
      history: [...history, { step: step.name, outcome: 'compensating', attempt: instance.attempt }],
    }
  }

  private compensationFailed(instance: SagaInstance<S>, detail: string): SagaTransition<S> {
    const step = this.definition.steps[instance.step]!
    const policy = this.definition.compensationRetry
    const history: SagaHistoryEntry[] = [{ step: step.name, outcome: 'compensation_failed', attempt: instance.attempt, detail }]
    if (isExhausted(policy, instance.attempt)) {
      const reason = `${step.name} could not be undone after ${instance.attempt} attempts (${detail})`
      history.push({ step: step.name, outcome: 'failed', attempt: instance.attempt, detail: reason })
      return { instance: { ...instance, status: 'FAILED' }, events: [], timers: [], history, parked: { reason } }
    }
    const attempt = instance.attempt + 1
    return {
      instance: { ...instance, attempt },
      events: [],
      timers: [{ kind: 'resend', step: instance.step, attempt, dueInMs: retryDelayMs(policy, instance.attempt) }],
      history,
    }
  }
}

/** The instance a transition leaves waits for nothing until the runner gives its command an id. */
function awaitingNothing<T extends SagaTransition<unknown> | undefined>(transition: T): T {
  if (transition) {
    const { awaiting: _, ...instance } = transition.instance
    transition.instance = instance
  }
  return transition
}
