import type { SagaHistoryEntry, SagaInstance } from '@tidings/core'
import type { ScheduledMessage } from '../scheduler/scheduler'

/** A saga's row as a transition left it. */
export interface SagaRowChange {
  instance: SagaInstance
  /** How many history lines the saga has, these included. */
  history: number
  at: Date
  final: boolean
}

export interface SagaHistoryRow extends SagaHistoryEntry {
  sagaId: string
  seq: number
  at: Date
}

/** A saga's new history lines, numbered after the `seen` ones. */
export function historyRows(sagaId: string, seen: number, lines: readonly SagaHistoryEntry[], at: Date): SagaHistoryRow[] {
  return lines.map((line, i) => ({ ...line, sagaId, seq: seen + i + 1, at }))
}

/**
 * What the transitions of one transaction changed, gathered to be written at once (a page of replies is one
 * statement, not a handful per reply): each saga's row as its last transition left it, every history
 * line, the timers cancelled and those scheduled. A timer scheduled and then cancelled in the same
 * transaction is never written; one cancelled and then scheduled again is.
 */
export class SagaChanges {
  readonly rows = new Map<string, SagaRowChange>()
  readonly lines: SagaHistoryRow[] = []
  readonly cancelled = new Set<string>()
  readonly scheduled = new Map<string, ScheduledMessage>()

  /** The saga after a transition: its row, and its new history lines after the `seen` ones. */
  changed(instance: SagaInstance, seen: number, lines: readonly SagaHistoryEntry[], at: Date, final: boolean): void {
    this.rows.set(instance.id, { instance, history: seen + lines.length, at, final })
    this.lines.push(...historyRows(instance.id, seen, lines, at))
  }

  cancel(timerIds: readonly string[]): void {
    for (const id of timerIds) {
      this.scheduled.delete(id)
      this.cancelled.add(id)
    }
  }

  schedule(message: ScheduledMessage): void {
    this.scheduled.set(message.id, message)
  }
}
