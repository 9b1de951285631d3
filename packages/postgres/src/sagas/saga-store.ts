import type { SagaHistoryEntry, SagaInstance, SagaStatus } from '@tidings/core'
import type { Queryable } from '../database/database'
import type { Migration } from '../database/migrations'
import { schemaName, storableJson } from '../database/sql'
import { valuesList, withWrites, type Write } from '../database/writes'
import type { SagaChanges, SagaHistoryRow } from './saga-changes'

/** The orchestrator's tables, in its own schema: one row per saga, one per line of its history. */
export const sagaMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'sagas and their history',
    up: (s) => `
      CREATE TABLE ${s}.sagas (
        id text PRIMARY KEY,
        type text NOT NULL,
        status text NOT NULL,
        state jsonb NOT NULL,
        step int NOT NULL,
        attempt int NOT NULL,
        reason text,
        history int NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        ended_at timestamptz
      );
      CREATE INDEX sagas_by_type_status ON ${s}.sagas (type, status, updated_at DESC);
      CREATE INDEX sagas_by_status ON ${s}.sagas (status, updated_at DESC);
      CREATE TABLE ${s}.saga_history (
        saga_id text NOT NULL,
        seq int NOT NULL,
        step text NOT NULL,
        outcome text NOT NULL,
        attempt int NOT NULL,
        detail text,
        at timestamptz NOT NULL,
        PRIMARY KEY (saga_id, seq)
      );
    `,
  },
  {
    version: 2,
    name: 'the command a saga awaits a reply to',
    up: (s) => `ALTER TABLE ${s}.sagas ADD COLUMN awaiting text`,
  },
  {
    version: 3,
    name: 'saga lists paged by time and id',
    up: (s) => `
      DROP INDEX ${s}.sagas_by_type_status;
      DROP INDEX ${s}.sagas_by_status;
      CREATE INDEX sagas_by_type_status ON ${s}.sagas (type, status, updated_at DESC, id DESC);
      CREATE INDEX sagas_by_status ON ${s}.sagas (status, updated_at DESC, id DESC);
      CREATE INDEX sagas_by_time ON ${s}.sagas (updated_at DESC, id DESC);
    `,
  },
]

export interface SagaListFilter {
  type?: string
  status?: SagaStatus
  /** Only sagas after this one in the order of the list (latest changed first, then by id): a page's end. */
  before?: { at: Date; id: string }
}

/** A saga as the console shows it: the instance with its times. */
export interface StoredSaga extends SagaInstance {
  startedAt: Date
  updatedAt: Date
  endedAt: Date | null
}

export interface SagaHistoryLine extends SagaHistoryEntry {
  seq: number
  at: Date
}

interface SagaRow {
  id: string
  type: string
  status: SagaStatus
  state: unknown
  step: number
  attempt: number
  reason: string | null
  awaiting: string | null
  history: number
  started_at: Date | string
  updated_at: Date | string
  ended_at: Date | string | null
}

const COLUMNS = 'id, type, status, state, step, attempt, reason, awaiting, history, started_at, updated_at, ended_at'

function toSaga(row: SagaRow): StoredSaga & { history: number } {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    state: row.state,
    step: Number(row.step),
    attempt: Number(row.attempt),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    ...(row.awaiting !== null ? { awaiting: row.awaiting } : {}),
    history: Number(row.history),
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
  }
}

/** The rows of one orchestrator schema. Every write runs in the caller's transaction. */
export class SagaStore {
  private readonly s: string

  constructor(schema: string) {
    this.s = schemaName(schema)
  }

  /**
   * A new saga's row and history as its first transition left them, in one statement whose row (`ON
   * CONFLICT DO NOTHING`) gates the lines: unless one with this id exists, then nothing is written and that
   * one is returned.
   */
  async insert(tx: Queryable, instance: SagaInstance, lines: readonly SagaHistoryRow[], now: Date, final: boolean): Promise<(StoredSaga & { history: number }) | undefined> {
    const row = {
      sql: `INSERT INTO ${this.s}.sagas (id, type, status, state, step, attempt, reason, history, awaiting, started_at, updated_at, ended_at)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $10, CASE WHEN $11::boolean THEN $10::timestamptz END) ON CONFLICT (id) DO NOTHING RETURNING id`,
      params: [instance.id, instance.type, instance.status, storableJson(instance.state, 'saga state'), instance.step, instance.attempt, instance.reason ?? null, lines.length, instance.awaiting ?? null, now.toISOString(), final],
    }
    // withWrites names the row's part w0: the lines go in only if it inserted the row.
    const statement = withWrites(lines.length > 0 ? [row, this.historyWrite(lines, 'w0')] : [row], { sql: 'SELECT count(*)::int AS inserted FROM w0', params: [] })
    const { rows } = await tx.query<{ inserted: number }>(statement.sql, statement.params)
    return rows[0]!.inserted === 1 ? undefined : this.find(tx, instance.id)
  }

  /** The saga, locked for this transaction (replies to one saga apply one at a time). */
  async lock(tx: Queryable, id: string): Promise<(StoredSaga & { history: number }) | undefined> {
    const { rows } = await tx.query<SagaRow>(`SELECT ${COLUMNS} FROM ${this.s}.sagas WHERE id = $1 FOR UPDATE`, [id])
    return rows[0] && toSaga(rows[0])
  }

  /** These sagas (those that exist), locked for this transaction in one statement, in the order of their ids. */
  async lockAll(tx: Queryable, ids: readonly string[]): Promise<Map<string, StoredSaga & { history: number }>> {
    const { rows } = await tx.query<SagaRow>(`SELECT ${COLUMNS} FROM ${this.s}.sagas WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [ids])
    return new Map(rows.map((row) => [row.id, toSaga(row)]))
  }

  async findAll(q: Queryable, ids: readonly string[]): Promise<Map<string, StoredSaga & { history: number }>> {
    const { rows } = await q.query<SagaRow>(`SELECT ${COLUMNS} FROM ${this.s}.sagas WHERE id = ANY($1::text[])`, [ids])
    return new Map(rows.map((row) => [row.id, toSaga(row)]))
  }

  async find(q: Queryable, id: string): Promise<(StoredSaga & { history: number }) | undefined> {
    const { rows } = await q.query<SagaRow>(`SELECT ${COLUMNS} FROM ${this.s}.sagas WHERE id = $1`, [id])
    return rows[0] && toSaga(rows[0])
  }

  /** The writes of these changes: the changed rows, the new history lines (see `runWrites`). */
  writes(changes: SagaChanges): Write[] {
    const writes: Write[] = []
    if (changes.rows.size > 0) {
      const rows = [...changes.rows.values()].map((r) => [
        r.instance.id,
        r.instance.status,
        storableJson(r.instance.state, 'saga state'),
        r.instance.step,
        r.instance.attempt,
        r.instance.reason ?? null,
        r.history,
        r.at.toISOString(),
        r.final,
        r.instance.awaiting ?? null,
      ])
      const values = valuesList(rows, ['text', 'text', 'jsonb', 'int', 'int', 'text', 'int', 'timestamptz', 'boolean', 'text'])
      writes.push({
        sql: `UPDATE ${this.s}.sagas AS g SET status = u.status, state = u.state, step = u.step, attempt = u.attempt, reason = u.reason, history = u.history,
                updated_at = u.at, ended_at = CASE WHEN u.final THEN u.at END, awaiting = u.awaiting
              FROM (VALUES ${values.sql}) AS u(id, status, state, step, attempt, reason, history, at, final, awaiting)
              WHERE g.id = u.id`,
        params: values.params,
      })
    }
    if (changes.lines.length > 0) writes.push(this.historyWrite(changes.lines))
    return writes
  }

  /** The insert of these history lines; with `gate`, only if that part of the statement returned a row. */
  private historyWrite(lines: readonly SagaHistoryRow[], gate?: string): Write {
    const values = valuesList(
      lines.map((l) => [l.sagaId, l.seq, l.step, l.outcome, l.attempt, l.detail ?? null, l.at.toISOString()]),
      ['', 'int', '', '', 'int', '', 'timestamptz'],
    )
    const rows = gate ? `SELECT * FROM (VALUES ${values.sql}) AS l WHERE EXISTS (SELECT 1 FROM ${gate})` : `VALUES ${values.sql}`
    return { sql: `INSERT INTO ${this.s}.saga_history (saga_id, seq, step, outcome, attempt, detail, at) ${rows}`, params: values.params }
  }

  async history(q: Queryable, id: string): Promise<SagaHistoryLine[]> {
    const { rows } = await q.query<{ seq: number; step: string; outcome: SagaHistoryEntry['outcome']; attempt: number; detail: string | null; at: Date | string }>(
      `SELECT seq, step, outcome, attempt, detail, at FROM ${this.s}.saga_history WHERE saga_id = $1 ORDER BY seq`,
      [id],
    )
    return rows.map((r) => ({
      seq: Number(r.seq),
      step: r.step,
      outcome: r.outcome,
      attempt: Number(r.attempt),
      ...(r.detail !== null ? { detail: r.detail } : {}),
      at: new Date(r.at),
    }))
  }

  /** The latest-changed sagas of a type and status (either may be left out), newest first, in pages that end at `before`. */
  async list(q: Queryable, filter: SagaListFilter & { limit: number }): Promise<StoredSaga[]> {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.type !== undefined) where.push(`type = $${params.push(filter.type)}`)
    if (filter.status !== undefined) where.push(`status = $${params.push(filter.status)}`)
    if (filter.before !== undefined) where.push(`(updated_at, id) < ($${params.push(filter.before.at.toISOString())}::timestamptz, $${params.push(filter.before.id)})`)
    const { rows } = await q.query<SagaRow>(
      `SELECT ${COLUMNS} FROM ${this.s}.sagas ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id DESC LIMIT $${params.push(filter.limit)}`,
      params,
    )
    return rows.map(toSaga)
  }

  /** How many sagas of each type are running, compensating or parked (the status index: final ones are never counted). */
  async open(q: Queryable): Promise<Array<{ type: string; status: SagaStatus; count: number }>> {
    const { rows } = await q.query<{ type: string; status: SagaStatus; count: string }>(
      `SELECT type, status, count(*) AS count FROM ${this.s}.sagas WHERE status IN ('RUNNING', 'COMPENSATING', 'FAILED') GROUP BY type, status ORDER BY type, status`,
    )
    return rows.map((r) => ({ type: r.type, status: r.status, count: Number(r.count) }))
  }

}
