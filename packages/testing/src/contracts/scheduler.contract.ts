import { describe, expect, it } from 'vitest'
import { event, manualClock } from '@tidings/core'
import { batchHandler, cancelScheduled, listDeadLetters, OutboxFeed, Scheduler, scheduleMessage, SCHEDULER_CONSUMER, UnitOfWork, type Queryable, type SchedulerOptions } from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { eventually } from '../eventually'
import { transactionsSettled } from '../feed-horizon'
import { readAll } from './outbox-feed.contract'
import { blocksAnotherSession } from './subscription.contract'

/** Scheduled messages: delivered once at their time, inside a unit of work; retried, then dead-lettered. */
export function schedulerContract(engine: TestEngine): void {
  describe(`scheduler on ${engine.name}`, () => {
    async function setup(handler: (key: string, tx: Queryable, data: unknown) => void | Promise<void> = () => {}) {
      const db = await engine.db()
      const schema = await engine.freshSchema('sched')
      const clock = manualClock('2026-05-01T12:00:00.000Z')
      const uow = new UnitOfWork({ db, schema, source: 'test.holds', clock })
      const delivered: string[] = []
      const schedulerWith = (handlers: SchedulerOptions['handlers']) =>
        new Scheduler({ db, schema, uow, clock, retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 1000 }, handlers })
      const scheduler = schedulerWith({
        'test.HoldExpired.v1': async (tx, message) => {
          await handler(message.key, tx, message.data)
          delivered.push(message.key)
          tx.record(event('test.HoldReleased.v1', message.key, message.data))
        },
      })
      return { db, schema, clock, uow, scheduler, schedulerWith, delivered, feed: new OutboxFeed(db, schema, 'test.holds') }
    }

    const hold = (key: string, dueAt: string) => ({ id: `expire-${key}`, type: 'test.HoldExpired.v1', key, data: { seat: key }, dueAt: new Date(dueAt) })

    it('delivers a message at its time, once, and its handler records events in the same transaction', async () => {
      const { db, schema, clock, scheduler, delivered, feed } = await setup()
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('A1', '2026-05-01T12:05:00.000Z')))
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('A2', '2026-05-01T12:10:00.000Z')))
      expect(await scheduler.deliverDue()).toBe(0)
      clock.advance(5 * 60_000)
      expect(await scheduler.deliverDue()).toBe(1)
      expect(await scheduler.deliverDue()).toBe(0)
      clock.advance(60 * 60_000)
      expect(await scheduler.deliverDue()).toBe(1)
      expect(delivered).toEqual(['A1', 'A2'])
      await transactionsSettled(db)
      expect((await readAll(feed)).map((e) => [e.type, e.key])).toEqual([
        ['test.HoldReleased.v1', 'A1'],
        ['test.HoldReleased.v1', 'A2'],
      ])
    })

    it('does not deliver a cancelled message, and rescheduling the same id moves it', async () => {
      const { db, schema, clock, scheduler, delivered } = await setup()
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('B1', '2026-05-01T12:01:00.000Z')))
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('B2', '2026-05-01T12:01:00.000Z')))
      expect(await db.transaction((tx) => cancelScheduled(tx, schema, 'expire-B1'))).toBe(true)
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('B2', '2026-05-01T13:00:00.000Z')))
      clock.advance(30 * 60_000)
      expect(await scheduler.deliverDue()).toBe(0)
      clock.advance(60 * 60_000)
      expect(await scheduler.deliverDue()).toBe(1)
      expect(delivered).toEqual(['B2'])
    })

    it('retries a failing delivery later, rolls back its effects, and dead-letters it after the attempts', async () => {
      const { db, schema, clock, scheduler, feed } = await setup(() => {
        throw new Error('seat service says no')
      })
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('C1', '2026-05-01T12:00:00.000Z')))
      expect(await scheduler.deliverDue()).toBe(0)
      const row = await db.query<{ attempts: number; last_error: string }>(`SELECT attempts, last_error FROM "${schema}".scheduled_messages`)
      expect(row.rows[0]).toMatchObject({ attempts: 1 })
      expect(row.rows[0]!.last_error).toContain('seat service says no')
      clock.advance(1000)
      expect(await scheduler.deliverDue()).toBe(0)
      clock.advance(1000)
      expect(await scheduler.deliverDue()).toBe(1)
      expect((await db.query(`SELECT 1 FROM "${schema}".scheduled_messages`)).rowCount).toBe(0)
      const letters = await listDeadLetters(db, schema, SCHEDULER_CONSUMER)
      expect(letters).toHaveLength(1)
      expect(letters[0]).toMatchObject({ attempts: 3, envelope: { type: 'test.HoldExpired.v1', key: 'C1', data: { seat: 'C1' } } })
      await transactionsSettled(db)
      expect(await readAll(feed)).toEqual([])
    })

    it('a failing delivery does not overwrite a reschedule of the same id that came while it ran', async () => {
      const other = await engine.connect()
      let rescheduling: Promise<void> | undefined
      let interleaved = engine.name === 'pglite'
      const { db, schema, clock, scheduler, delivered } = await setup(async (key, tx, data) => {
        if ((data as { extended?: boolean }).extended) return // the hold as rescheduled, at its new time
        if (!rescheduling) {
          // While this delivery holds the row, a command pushes the deadline out by an hour (same id replaces).
          rescheduling = other.transaction((t) => scheduleMessage(t, schema, { ...hold(key, '2026-05-01T13:00:00.000Z'), data: { seat: key, extended: true } }))
          // PostgreSQL: fail only once the reschedule waits for this delivery's row. PGlite runs one transaction
          // at a time, so the reschedule queues behind this one and commits before the failure is recorded:
          // the same interleaving, built sequentially.
          if (engine.name === 'postgres') interleaved = await eventually(() => blocksAnotherSession(tx), Boolean, { what: 'the reschedule to wait for the delivery' })
        }
        // The hold as it was fails every time: the scheduler's one-at-a-time retry of the failed batch may
        // claim it again before the reschedule commits (it did on a loaded machine), and fail again.
        throw new Error('order service busy')
      })
      await db.transaction((tx) => scheduleMessage(tx, schema, hold('E1', '2026-05-01T12:00:00.000Z')))
      expect(await scheduler.deliverDue()).toBe(0)
      await rescheduling
      expect(interleaved).toBe(true)
      const row = await db.query<{ due_at: Date | string; attempts: number; data: unknown }>(`SELECT due_at, attempts, data FROM "${schema}".scheduled_messages`)
      expect(row.rows).toHaveLength(1)
      expect(new Date(row.rows[0]!.due_at).toISOString()).toBe('2026-05-01T13:00:00.000Z')
      expect(row.rows[0]).toMatchObject({ attempts: 0, data: { seat: 'E1', extended: true } })
      clock.advance(30 * 60_000) // long past the failed attempt's retry delay, before the new deadline
      expect(await scheduler.deliverDue()).toBe(0)
      expect(delivered).toEqual([])
      clock.advance(60 * 60_000)
      expect(await scheduler.deliverDue()).toBe(1)
      expect(delivered).toEqual(['E1'])
    })

    it('a batch handler takes the due messages of its type at once, in due order; a failing batch is delivered again one at a time', async () => {
      const { db, schema, clock, schedulerWith } = await setup()
      const calls: string[][] = []
      let refuse = ''
      const scheduler = schedulerWith({
        'test.HoldExpired.v1': batchHandler(async (tx, messages) => {
          calls.push(messages.map((m) => m.key))
          if (messages.some((m) => m.key === refuse)) throw new Error(`${refuse} is refused`)
          for (const m of messages) tx.record(event('test.HoldReleased.v1', m.key, m.data))
        }),
        'test.Reminder.v1': async (_tx, message) => {
          calls.push([`reminder ${message.key}`])
        },
      })
      const due = (key: string, minute: number, type = 'test.HoldExpired.v1') => ({ ...hold(key, `2026-05-01T12:0${minute}:00.000Z`), type })
      for (const m of [due('F3', 3), due('F1', 1), due('R1', 2, 'test.Reminder.v1'), due('F2', 1), due('F4', 4), due('F5', 5)]) {
        await db.transaction((tx) => scheduleMessage(tx, schema, m))
      }
      clock.advance(4 * 60_000)
      expect(await scheduler.deliverDue()).toBe(5)
      // Runs of one type in due order: the hold handler's batch form for a run of several, one by one otherwise.
      expect(calls).toEqual([['F1', 'F2'], ['reminder R1'], ['F3', 'F4']])
      calls.length = 0
      refuse = 'F6'
      for (const m of [due('F6', 6), due('F7', 6)]) await db.transaction((tx) => scheduleMessage(tx, schema, m))
      clock.advance(3 * 60_000)
      expect(await scheduler.deliverDue()).toBe(2)
      // The batch failed and rolled back; then each alone: F6 fails (retried later), F7 is delivered.
      expect(calls).toEqual([['F5', 'F6', 'F7'], ['F5'], ['F6'], ['F7']])
      const left = await db.query<{ key: string; attempts: number }>(`SELECT key, attempts FROM "${schema}".scheduled_messages`)
      expect(left.rows).toEqual([{ key: 'F6', attempts: 1 }])
    })

    it('two schedulers never deliver the same message twice', async () => {
      const { db, schema, clock, uow, delivered } = await setup()
      const other = await engine.connect()
      const handlers = {
        'test.HoldExpired.v1': async (_tx: unknown, message: { key: string }) => {
          delivered.push(message.key)
        },
      }
      const first = new Scheduler({ db, schema, uow, clock, handlers })
      const second = new Scheduler({ db: other, schema, uow: new UnitOfWork({ db: other, schema, source: 'test.holds', clock }), clock, handlers })
      for (let i = 0; i < 40; i++) await db.transaction((tx) => scheduleMessage(tx, schema, hold(`D${i}`, '2026-05-01T12:00:00.000Z')))
      const [a, b] = await Promise.all([first.deliverDue(), second.deliverDue()])
      expect(a + b).toBe(40)
      expect(new Set(delivered).size).toBe(40)
      expect(delivered).toHaveLength(40)
    })
  })
}
