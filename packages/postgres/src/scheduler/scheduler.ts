import {
  isExhausted,
  isPermanentFailure,
  retryDelayMs,
  silentLogger,
  defaultRetryPolicy,
  systemClock,
  type Clock,
  type Logger,
  type RetryPolicy,
} from '@tidings/core'
import type { Database, Queryable } from '../database/database'
import { addDeadLetter, describeError } from '../consumers/dead-letters'
import { isInfrastructureError } from '../database/infrastructure-error'
import { sleep } from '../sleep'
import { schemaName } from '../database/sql'
import { runWrites, valuesList, type Write } from '../database/writes'
import type { CommandTx, UnitOfWork } from '../commands/unit-of-work'

export interface ScheduledMessage<D = unknown> {
  /** Unique per message: scheduling the same id again replaces it (e.g. pushing a timeout further out). */
  id: string
  type: string
  key: string
  data: D
  dueAt: Date
}

export type ScheduledHandler = ((tx: CommandTx, message: ScheduledMessage) => Promise<void>) & {
  /**
   * Several due messages of the handler's type at once, with the same effect as the handler on each in
   * this order, in fewer statements (e.g. their rows locked in one). Optional: without it, one by one.
   */
  batch?: (tx: CommandTx, messages: readonly ScheduledMessage[]) => Promise<void>
}

/** A handler written for batches only: a message delivered alone (a retry) is a batch of one. */
export function batchHandler(batch: NonNullable<ScheduledHandler['batch']>): ScheduledHandler {
  return Object.assign((tx: CommandTx, message: ScheduledMessage) => batch(tx, [message]), { batch })
}

export const SCHEDULER_CONSUMER = 'tidings.scheduler'

/** Schedules a message in the caller's transaction, so it exists exactly when the state that needs it does. */
export async function scheduleMessage(tx: Queryable, schema: string, message: ScheduledMessage): Promise<void> {
  await scheduleMessages(tx, schema, [message])
}

/** Schedules messages (ids all different) in one statement: `scheduleMessage` for each. */
export async function scheduleMessages(tx: Queryable, schema: string, messages: readonly ScheduledMessage[]): Promise<void> {
  await runWrites(tx, scheduling(schema, messages))
}

/** The write that schedules these messages (ids all different), if any: to send with others (`runWrites`). */
export function scheduling(schema: string, messages: readonly ScheduledMessage[]): Write[] {
  if (messages.length === 0) return []
  const values = valuesList(
    messages.map((m) => [m.id, m.type, m.key, JSON.stringify(m.data ?? null), m.dueAt.toISOString()]),
    ['', '', '', 'jsonb', 'timestamptz'],
  )
  const sql = `INSERT INTO ${schemaName(schema)}.scheduled_messages (id, type, key, data, due_at) VALUES ${values.sql}
     ON CONFLICT (id) DO UPDATE SET type = excluded.type, key = excluded.key, data = excluded.data, due_at = excluded.due_at, attempts = 0, last_error = NULL`
  return [{ sql, params: values.params }]
}

export async function cancelScheduled(tx: Queryable, schema: string, id: string): Promise<boolean> {
  const result = await tx.query(`DELETE FROM ${schemaName(schema)}.scheduled_messages WHERE id = $1`, [id])
  return result.rowCount > 0
}

/** The write that cancels the messages of these ids, if any: to send with others (`runWrites`). */
export function cancelling(schema: string, ids: readonly string[]): Write[] {
  return ids.length === 0 ? [] : [{ sql: `DELETE FROM ${schemaName(schema)}.scheduled_messages WHERE id = ANY($1::text[])`, params: [ids] }]
}

export interface SchedulerOptions {
  db: Database
  schema: string
  /** Delivery runs as a command: handlers may change state and record events in the same transaction. */
  uow: UnitOfWork
  handlers: Record<string, ScheduledHandler>
  clock?: Clock
  retry?: RetryPolicy
  logger?: Logger
  batchSize?: number
  /** Batches delivered at once, each in its own transaction on its own connection (default 1). */
  concurrency?: number
}

/**
 * Delivers due messages: each in one transaction that claims the row (SKIP LOCKED, so several instances
 * can run), runs its handler and deletes it. Failures are retried later with backoff, then dead-lettered.
 */
export class Scheduler {
  private readonly clock: Clock
  private readonly retry: RetryPolicy
  private stopping = new AbortController()
  private running?: Promise<void>

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock
    this.retry = options.retry ?? defaultRetryPolicy
  }

  /**
   * Delivers everything due now; returns how many messages were delivered or dead-lettered. Messages due
   * for the first time go in batches, one transaction each (claimed with SKIP LOCKED, so instances share
   * the work); a batch that fails is delivered again one message at a time, so that only the failing
   * message is retried later, alone, counting its attempts.
   */
  async deliverDue(): Promise<number> {
    const batchSize = this.options.batchSize ?? 100
    let delivered = 0
    const lane = async (): Promise<void> => {
      for (;;) {
        const { claimed, settled } = await this.deliverBatch(batchSize)
        delivered += settled
        if (claimed < batchSize) return
      }
    }
    await Promise.all(Array.from({ length: this.options.concurrency ?? 1 }, lane))
    for (;;) {
      const retried = await this.dueIds({ retried: true })
      let settled = 0
      for (const id of retried) if (await this.deliver(id)) settled++
      delivered += settled
      if (settled === 0) return delivered
    }
  }

  /** Polls for due messages until `stop`. */
  start(pollIntervalMs = 500): void {
    if (this.running) return
    this.stopping = new AbortController()
    const stop = this.stopping.signal
    this.running = (async () => {
      while (!stop.aborted) {
        await this.deliverDue().catch((error: unknown) => (this.options.logger ?? silentLogger).warn({ err: error }, 'scheduler poll failed'))
        await sleep(pollIntervalMs, stop)
      }
    })()
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
    this.running = undefined
  }

  private async dueIds({ retried }: { retried: boolean }): Promise<string[]> {
    const result = await this.options.db.query<{ id: string }>(
      `SELECT id FROM ${schemaName(this.options.schema)}.scheduled_messages WHERE due_at <= $1 AND ${retried ? 'attempts > 0' : 'attempts = 0'} ORDER BY due_at, id LIMIT $2`,
      [this.clock.now().toISOString(), this.options.batchSize ?? 100],
    )
    return result.rows.map((r) => r.id)
  }

  /** Claims up to `limit` messages due for the first time and delivers them in one transaction. */
  private async deliverBatch(limit: number): Promise<{ claimed: number; settled: number }> {
    const { uow, handlers } = this.options
    const s = schemaName(this.options.schema)
    let claimedIds: string[] = []
    try {
      const { result } = await uow.run(async (tx) => {
        const { rows } = await tx.query<ClaimedRow>(
          `DELETE FROM ${s}.scheduled_messages WHERE id IN (
             SELECT id FROM ${s}.scheduled_messages WHERE due_at <= $1 AND attempts = 0 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, type, key, data, due_at, attempts`,
          [this.clock.now().toISOString(), limit],
        )
        const messages = rows.map(toMessage).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : 1))
        claimedIds = messages.map((m) => m.id)
        for (const run of runsOfOneType(messages)) {
          const handler = handlers[run[0]!.type]
          if (!handler) throw new Error(`No scheduled handler for ${run[0]!.type}`)
          if (handler.batch && run.length > 1) await handler.batch(tx, run)
          else for (const message of run) await handler(tx, message)
        }
        return rows.length
      })
      return { claimed: result, settled: result }
    } catch (error) {
      if (isInfrastructureError(error)) throw error
      let settled = 0
      for (const id of claimedIds) if (await this.deliver(id)) settled++
      return { claimed: claimedIds.length, settled }
    }
  }

  private async deliver(id: string): Promise<boolean> {
    const { schema, uow, handlers } = this.options
    const s = schemaName(schema)
    let claimed: ScheduledMessage | undefined
    let attempts = 0
    let claimedDueAt = ''
    try {
      const { result } = await uow.run(async (tx) => {
        const rows = await tx.query<ClaimedRow>(
          `DELETE FROM ${s}.scheduled_messages WHERE id IN (
             SELECT id FROM ${s}.scheduled_messages WHERE id = $1 AND due_at <= $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, type, key, data, due_at, attempts`,
          [id, this.clock.now().toISOString()],
        )
        const row = rows.rows[0]
        if (!row) return false
        claimed = toMessage(row)
        claimedDueAt = claimed.dueAt.toISOString()
        attempts = Number(row.attempts) + 1
        const handler = handlers[row.type]
        if (!handler) throw new Error(`No scheduled handler for ${row.type}`)
        await handler(tx, claimed)
        return true
      })
      return result
    } catch (error) {
      if (!claimed || isInfrastructureError(error)) throw error
      await this.failed(claimed, claimedDueAt, attempts, error)
      return isExhausted(this.retry, attempts) || isPermanentFailure(error)
    }
  }

  /** Only the row as it was claimed: a message rescheduled meanwhile (same id) is the caller's, left alone. */
  private async failed(message: ScheduledMessage, claimedDueAt: string, attempts: number, error: unknown): Promise<void> {
    const { db, schema } = this.options
    const s = schemaName(schema)
    if (isPermanentFailure(error) || isExhausted(this.retry, attempts)) {
      await db.transaction(async (tx) => {
        const gone = await tx.query(`DELETE FROM ${s}.scheduled_messages WHERE id = $1 AND attempts = $2 AND due_at = $3`, [
          message.id,
          attempts - 1,
          claimedDueAt,
        ])
        if (gone.rowCount === 0) return
        await addDeadLetter(
          tx,
          schema,
          SCHEDULER_CONSUMER,
          { id: message.id, type: message.type, source: SCHEDULER_CONSUMER, key: message.key, occurredAt: message.dueAt.toISOString(), data: message.data, meta: {} },
          error,
          attempts,
        )
      })
      ;(this.options.logger ?? silentLogger).error({ err: error, id: message.id }, 'scheduled message dead-lettered')
      return
    }
    const next = new Date(this.clock.now().getTime() + retryDelayMs(this.retry, attempts))
    await db.query(
      `UPDATE ${s}.scheduled_messages SET attempts = $2, due_at = $3, last_error = $4 WHERE id = $1 AND attempts = $2 - 1 AND due_at = $5`,
      [message.id, attempts, next.toISOString(), describeError(error), claimedDueAt],
    )
  }
}

interface ClaimedRow {
  id: string
  type: string
  key: string
  data: unknown
  due_at: Date | string
  attempts: number
}

/** The messages in their order, cut where the type changes: each run goes to its handler's batch form at once. */
function runsOfOneType(messages: readonly ScheduledMessage[]): ScheduledMessage[][] {
  const runs: ScheduledMessage[][] = []
  for (const message of messages) {
    const run = runs.at(-1)
    if (run && run[0]!.type === message.type) run.push(message)
    else runs.push([message])
  }
  return runs
}

function toMessage(row: ClaimedRow): ScheduledMessage {
  return { id: row.id, type: row.type, key: row.key, data: row.data, dueAt: new Date(row.due_at) }
}
