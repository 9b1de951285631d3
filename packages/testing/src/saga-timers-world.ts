import { command, saga, step } from '@tidings/core'
import { migrate, platformMigrations, SagaRunner, schemaName, UnitOfWork, type Database } from '@tidings/postgres'

/** A saga whose participant never answers: it ends when its step's timeout comes (nothing to undo). */
export const waitingSaga = saga<{ n: number }>({
  name: 'test.waits',
  steps: [step<{ n: number }>('wait').invoke((s) => command('nobody.Listens', s)).onReply('nobody.Answered').nothingToUndo().timeout('1h')],
})

/**
 * `count` sagas of `waitingSaga`, each waiting for its timeout, due one after another from `firstDueAt`
 * over `spreadMs`. The first is started by the runner; the rest are copies of its saga, history and timer
 * rows made in SQL (what 100,000 starts would write, less their commands nobody reads), in seconds.
 */
export async function pendingTimeouts(db: Database, schema: string, count: number, firstDueAt: Date, spreadMs: number): Promise<void> {
  const s = schemaName(schema)
  await migrate(db, schema, 'tidings', platformMigrations)
  const uow = new UnitOfWork({ db, schema, source: 'test.waits' })
  const runner = new SagaRunner({ db, schema, uow, sagas: [waitingSaga] })
  await runner.migrate()
  await db.query(`CREATE TABLE IF NOT EXISTS ${s}.fired (timer_id text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`)
  await db.query(`CREATE TABLE IF NOT EXISTS ${s}.due (saga_id text PRIMARY KEY, due_at timestamptz NOT NULL)`)
  await uow.run((tx) => runner.start(tx, waitingSaga, { n: 0 }, { id: 'wait-0' }))
  const step = spreadMs / count
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO ${s}.sagas (id, type, status, state, step, attempt, history, started_at, updated_at)
       SELECT 'wait-' || n, type, status, jsonb_build_object('n', n), step, attempt, history, started_at, updated_at FROM ${s}.sagas, generate_series(1, $1 - 1) n WHERE id = 'wait-0'`,
      [count],
    )
    await tx.query(
      `INSERT INTO ${s}.saga_history (saga_id, seq, step, outcome, attempt, detail, at)
       SELECT 'wait-' || n, seq, step, outcome, attempt, detail, at FROM ${s}.saga_history, generate_series(1, $1 - 1) n WHERE saga_id = 'wait-0'`,
      [count],
    )
    await tx.query(
      `INSERT INTO ${s}.scheduled_messages (id, type, key, data, due_at)
       SELECT replace(id, 'wait-0', 'wait-' || n), type, 'wait-' || n, jsonb_set(data, '{sagaId}', to_jsonb('wait-' || n)), due_at FROM ${s}.scheduled_messages, generate_series(1, $1 - 1) n WHERE key = 'wait-0'`,
      [count],
    )
    await tx.query(
      `UPDATE ${s}.scheduled_messages m SET due_at = $1::timestamptz + (substring(m.key from 6)::int * $2::float8) * interval '1 millisecond'`,
      [firstDueAt.toISOString(), step],
    )
    await tx.query(`INSERT INTO ${s}.due (saga_id, due_at) SELECT key, due_at FROM ${s}.scheduled_messages`)
  })
}
