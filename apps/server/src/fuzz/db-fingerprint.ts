import type { Database } from '@tidings/postgres'

/**
 * Platform tables that change on their own, with no request at all: consumers move their checkpoints and
 * fill their inboxes as they work through earlier writes (and housekeeping prunes inboxes), leases are
 * renewed every few seconds, feed readers report where they are, relays their progress; the waiting room
 * writes who polled since its last tick (`presence`, once a second, for all of them). Everything else
 * in the apps' schemas — the apps' own tables and the outbox, documents, scheduled messages, dead letters
 * and migrations of each — changes only through a command.
 */
export const SELF_CHANGING_TABLES = ['checkpoints', 'inbox', 'leases', 'feed_readers', 'relay_progress', 'presence'] as const

/**
 * A row version: where the row is (`ctid`) and which transaction wrote it (`xmin`). Every INSERT, UPDATE
 * (even one that writes the same values) and DELETE changes the set; locking a row (`FOR UPDATE`) does not,
 * nor do vacuum and freezing. Cheaper than the rows' text, which would detoast every document each time.
 */
const ROW_VERSION = `ctid::text || xmin::text`

/** Per table (`schema.table`): its row count and the md5 of its row versions in physical order. */
export type Fingerprint = ReadonlyMap<string, string>

/** The tables that differ between two fingerprints, with both sides. */
export function fingerprintDiff(before: Fingerprint, after: Fingerprint): string[] {
  const tables = new Set([...before.keys(), ...after.keys()])
  return [...tables].filter((t) => before.get(t) !== after.get(t)).map((t) => `${t}: ${before.get(t) ?? 'absent'} -> ${after.get(t) ?? 'absent'}`)
}

interface Position {
  xid: bigint
  seq: bigint
}

const positionOf = (text: string): Position => {
  const [xid = '0', seq = '0'] = text.split('-')
  return { xid: BigInt(xid), seq: BigInt(seq) }
}
const atOrAfter = (a: Position, b: Position): boolean => a.xid > b.xid || (a.xid === b.xid && a.seq >= b.seq)

/**
 * Watches the database `npm start` writes to: fingerprints of every table that only commands change, and
 * whether the consumers have caught up with every feed (so that a fingerprint taken then stays put until
 * the next command).
 */
export class DatabaseWatch {
  private expected: Set<string> | undefined

  private constructor(
    private readonly db: Database,
    private readonly fingerprintSql: string,
    private readonly progressSql: string,
  ) {}

  static async open(db: Database): Promise<DatabaseWatch> {
    const tables = await db.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    )
    const watched = tables.rows.filter((t) => !(SELF_CHANGING_TABLES as readonly string[]).includes(t.name))
    if (watched.length === 0) throw new Error('fuzz: no tables to fingerprint')
    // `$1` (always true) makes the driver prepare the statement once per connection: planning a union of
    // sixty aggregates costs more than running it on the fuzz's small tables.
    const fingerprintSql = watched
      .map((t) => `SELECT '${t.schema}.${t.name}' AS t, count(*)::text || ':' || md5(coalesce(string_agg(${ROW_VERSION}, ',' ORDER BY ctid), '')) AS f FROM "${t.schema}"."${t.name}" x WHERE $1::boolean`)
      .join('\nUNION ALL\n')
    const schemas = [...new Set(tables.rows.map((t) => t.schema))]
    const has = (schema: string, name: string) => tables.rows.some((t) => t.schema === schema && t.name === name)
    const progressSql = schemas
      .flatMap((s) => [
        ...(has(s, 'checkpoints') ? [`SELECT 'checkpoint' AS k, '${s}' AS s, consumer || '|' || source AS a, position AS p FROM "${s}".checkpoints WHERE $1::boolean`] : []),
        ...(has(s, 'outbox') ? [`SELECT 'head', '${s}', '', (SELECT feed_xid::text || '-' || seq::text FROM "${s}".outbox ORDER BY feed_xid DESC, seq DESC LIMIT 1)`] : []),
        ...(has(s, 'inbox') ? [`SELECT 'pending', '${s}', '', count(*)::text FROM "${s}".inbox WHERE status = 'pending'`] : []),
        ...(has(s, 'scheduled_messages') ? [`SELECT 'due', '${s}', '', count(*)::text FROM "${s}".scheduled_messages WHERE due_at <= now()`] : []),
      ])
      .join('\nUNION ALL\n')
    return new DatabaseWatch(db, fingerprintSql, progressSql)
  }

  async fingerprint(): Promise<Fingerprint> {
    // Without statistics the planner takes every table for hundreds of rows, and past some 140 tables the
    // union looks worth two parallel workers: starting them costs ~90 ms, running it all ~10.
    const result = await this.db.transaction(async (tx) => {
      await tx.query('SET LOCAL max_parallel_workers_per_gather = 0')
      return tx.query<{ t: string; f: string }>(this.fingerprintSql, [true])
    })
    return new Map(result.rows.map((r) => [r.t, r.f]))
  }

  /**
   * Whether every consumer has applied every feed it follows up to its head, nothing waits in a deferred
   * inbox and nothing scheduled is due. A rebuild deletes checkpoints: so the checkpoints seen once the
   * world was set up (`expectCheckpoints`) must all be there again.
   */
  async settled(): Promise<{ settled: boolean; why?: string }> {
    const rows = (await this.db.query<{ k: string; s: string; a: string; p: string | null }>(this.progressSql, [true])).rows
    const heads = new Map(rows.filter((r) => r.k === 'head' && r.p !== null).map((r) => [r.s.replace('_', '.'), positionOf(r.p!)]))
    const checkpoints = rows.filter((r) => r.k === 'checkpoint')
    for (const key of this.expected ?? []) {
      if (!checkpoints.some((r) => `${r.s}|${r.a}` === key)) return { settled: false, why: `no checkpoint ${key}` }
    }
    for (const r of checkpoints) {
      const source = r.a.split('|')[1]!
      const head = heads.get(source)
      if (head && !atOrAfter(positionOf(r.p ?? '0'), head)) return { settled: false, why: `${r.s} ${r.a} at ${r.p}, behind ${head.xid}-${head.seq}` }
    }
    const waiting = rows.find((r) => (r.k === 'pending' || r.k === 'due') && r.p !== '0')
    if (waiting) return { settled: false, why: `${waiting.s}: ${waiting.p} ${waiting.k}` }
    return { settled: true }
  }

  async waitSettled(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const state = await this.settled()
      if (state.settled) return
      if (Date.now() > deadline) throw new NotSettled(`the consumers did not catch up within ${timeoutMs} ms: ${state.why}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Remembers the checkpoints that exist now, once every consumer has had something to read. */
  async expectCheckpoints(): Promise<string[]> {
    const rows = (await this.db.query<{ k: string; s: string; a: string }>(this.progressSql, [true])).rows
    this.expected = new Set(rows.filter((r) => r.k === 'checkpoint').map((r) => `${r.s}|${r.a}`))
    return [...this.expected]
  }

  async openDeadLetters(): Promise<Array<{ schema: string; consumer: string; error: string }>> {
    const schemas = (await this.db.query<{ schema: string }>(`SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'dead_letters'`)).rows.map((r) => r.schema)
    if (schemas.length === 0) return []
    const sql = schemas.map((s) => `SELECT '${s}' AS schema, consumer, left(error, 300) AS error FROM "${s}".dead_letters WHERE replayed_at IS NULL`).join(' UNION ALL ')
    return (await this.db.query<{ schema: string; consumer: string; error: string }>(sql)).rows
  }
}

export class NotSettled extends Error {}
