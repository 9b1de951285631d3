import { schemaName, type Database, type Migration, type Queryable } from '@tidings/postgres'
import { isoTimeOrNull } from '@tidings/postgres'
import type { QueueStatus, QueueToken } from './waiting-room'
import type { Standing, WaitingRoomStore } from './waiting-room.store'

interface TokenRow {
  token: string
  concert_id: string
  member_id: string
  status: QueueStatus
  seq: string | null
  active_until: Date | string | null
}

const COLUMNS = 'token, concert_id, member_id, status, seq::text AS seq, active_until'
const tokenOf = (r: TokenRow): QueueToken => ({ token: r.token, concertId: r.concert_id, memberId: r.member_id, status: r.status, seq: r.seq === null ? null : Number(r.seq), activeUntil: isoTimeOrNull(r.active_until) })

/**
 * The waiting room in the application's database (the embedded default): one row per token. One live token
 * per member and concert is a unique partial index; admission takes the concert's advisory lock, so two
 * admissions never both fill the last place.
 */
export class PgWaitingRoomStore implements WaitingRoomStore {
  private readonly s: string

  constructor(
    private readonly db: Database,
    schema: string,
  ) {
    this.s = schemaName(schema)
  }

  async join(concertId: string, memberId: string, token: string, now: Date, preQueue = false): Promise<Standing & { created: boolean }> {
    const inserted = await this.db.query<TokenRow>(
      `INSERT INTO ${this.s}.tokens (token, concert_id, member_id, status, joined_at, seq)
       VALUES ($1, $2, $3, 'WAITING', $4, CASE WHEN $5::boolean THEN NULL ELSE nextval('${this.s}.arrivals') END)
       ON CONFLICT (concert_id, member_id) WHERE status IN ('WAITING', 'ACTIVE') DO NOTHING RETURNING ${COLUMNS}`,
      [token, concertId, memberId, now.toISOString(), preQueue],
    )
    // Where it stands is read after the commit: earlier arrivals still committing are counted then.
    const live = inserted.rows[0]?.token ?? (await this.db.query<{ token: string }>(`SELECT token FROM ${this.s}.tokens WHERE concert_id = $1 AND member_id = $2 AND status IN ('WAITING', 'ACTIVE')`, [concertId, memberId])).rows[0]?.token
    const standing = live === undefined ? undefined : await this.standing(live)
    // Ended between the statements: join again.
    return standing ? { ...standing, created: inserted.rows.length > 0 } : this.join(concertId, memberId, token, now, preQueue)
  }

  async find(token: string) {
    const { rows } = await this.db.query<TokenRow>(`SELECT ${COLUMNS} FROM ${this.s}.tokens WHERE token = $1`, [token])
    return rows[0] && tokenOf(rows[0])
  }

  async standing(token: string) {
    const { rows } = await this.db.query<TokenRow & { position: number | null }>(
      `SELECT ${COLUMNS}, CASE WHEN t.status <> 'WAITING' THEN 0 WHEN t.seq IS NULL THEN NULL
         ELSE (SELECT count(*)::int FROM ${this.s}.tokens w WHERE w.concert_id = t.concert_id AND w.status = 'WAITING' AND w.seq <= t.seq) END AS position
       FROM ${this.s}.tokens t WHERE t.token = $1`,
      [token],
    )
    return rows[0] && { token: tokenOf(rows[0]), position: rows[0].position }
  }

  /** One pass over the concert's line (its index, in order), whatever the number of tokens asked. */
  async lineOf(concertId: string, tokens: readonly string[]) {
    if (tokens.length === 0) return new Map<string, number | null>()
    const { rows } = await this.db.query<{ token: string; position: number | null }>(
      `SELECT t.token, l.position FROM ${this.s}.tokens t
       LEFT JOIN (SELECT token, row_number() OVER (ORDER BY seq)::int AS position FROM ${this.s}.tokens WHERE concert_id = $1 AND status = 'WAITING' AND seq IS NOT NULL) l USING (token)
       WHERE t.token = ANY($2::text[]) AND t.concert_id = $1 AND t.status = 'WAITING'`,
      [concertId, tokens],
    )
    return new Map(rows.map((r) => [r.token, r.position]))
  }

  async preQueued(concertId: string) {
    const { rows } = await this.db.query<{ token: string }>(`SELECT token FROM ${this.s}.tokens WHERE concert_id = $1 AND status = 'WAITING' AND seq IS NULL`, [concertId])
    return rows.map((r) => r.token)
  }

  async openLine(concertId: string, order: readonly string[]) {
    await this.db.transaction(async (tx: Queryable) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${this.s}:admit:${concertId}`])
      // The first opening puts them ahead of everyone who joined since (below every number the sequence
      // gives); anyone pre-queued after it (a join racing the opening) goes behind everyone, as an arrival.
      const opened = (await tx.query(`SELECT 1 FROM ${this.s}.tokens WHERE concert_id = $1 AND seq < 0 LIMIT 1`, [concertId])).rowCount > 0
      await tx.query(
        `UPDATE ${this.s}.tokens t SET seq = CASE WHEN $4::boolean THEN nextval('${this.s}.arrivals') ELSE o.n - $3 - 1 END
         FROM unnest($2::text[]) WITH ORDINALITY AS o(token, n)
         WHERE t.token = o.token AND t.concert_id = $1 AND t.status = 'WAITING' AND t.seq IS NULL`,
        [concertId, order, order.length, opened],
      )
    })
  }

  async seen(_concertId: string, tokens: readonly string[], now: Date) {
    if (tokens.length === 0) return
    await this.db.query(
      `INSERT INTO ${this.s}.presence (token, seen_at) SELECT t, $2 FROM unnest($1::text[]) AS t
       ON CONFLICT (token) DO UPDATE SET seen_at = GREATEST(${this.s}.presence.seen_at, excluded.seen_at)`,
      [tokens, now.toISOString()],
    )
  }

  async leave(token: string, now: Date) {
    const left = await this.db.query(`UPDATE ${this.s}.tokens SET status = 'EXPIRED', ended_at = $2 WHERE token = $1 AND status IN ('WAITING', 'ACTIVE')`, [token, now.toISOString()])
    return left.rowCount > 0
  }

  async complete(concertId: string, memberId: string, paidAt: Date, now: Date, via: Queryable = this.db) {
    const done = await via.query(
      `UPDATE ${this.s}.tokens SET status = 'COMPLETED', ended_at = $4 WHERE concert_id = $1 AND member_id = $2 AND status = 'ACTIVE' AND activated_at <= $3`,
      [concertId, memberId, paidAt.toISOString(), now.toISOString()],
    )
    return done.rowCount > 0
  }

  async sweep(now: Date, idleBefore: Date) {
    const { rows } = await this.db.query<{ concert_id: string }>(
      `UPDATE ${this.s}.tokens t SET status = 'EXPIRED', ended_at = $1
       WHERE (t.status = 'ACTIVE' AND t.active_until <= $1)
          OR (t.status = 'WAITING' AND t.joined_at < $2 AND NOT EXISTS (SELECT 1 FROM ${this.s}.presence p WHERE p.token = t.token AND p.seen_at >= $2))
       RETURNING t.concert_id`,
      [now.toISOString(), idleBefore.toISOString()],
    )
    const next = await this.db.query<{ at: Date | string | null }>(`SELECT min(active_until) AS at FROM ${this.s}.tokens WHERE status = 'ACTIVE'`)
    const nextEnd = isoTimeOrNull(next.rows[0]?.at ?? null)
    return { freed: [...new Set(rows.map((r) => r.concert_id))], nextEnd: nextEnd === null ? null : new Date(nextEnd) }
  }

  async admit(concertId: string, capacity: number, now: Date, activeUntil: Date) {
    return this.db.transaction(async (tx: Queryable) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${this.s}:admit:${concertId}`])
      const { rows } = await tx.query<TokenRow>(
        `UPDATE ${this.s}.tokens SET status = 'ACTIVE', activated_at = $3, active_until = $4
         WHERE token IN (
           SELECT token FROM ${this.s}.tokens WHERE concert_id = $1 AND status = 'WAITING' AND seq IS NOT NULL ORDER BY seq
           LIMIT GREATEST(0, $2 - (SELECT count(*) FROM ${this.s}.tokens WHERE concert_id = $1 AND status = 'ACTIVE'))
         )
         RETURNING ${COLUMNS}`,
        [concertId, capacity, now.toISOString(), activeUntil.toISOString()],
      )
      return rows.map(tokenOf).sort((a, b) => a.seq! - b.seq!)
    })
  }

  async admittedPerSecond(concertId: string, now: Date, windowMs: number) {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.s}.tokens WHERE concert_id = $1 AND activated_at > $2`, [
      concertId,
      new Date(now.getTime() - windowMs).toISOString(),
    ])
    return (rows[0]!.n * 1000) / windowMs
  }

  async concertsWaiting() {
    const { rows } = await this.db.query<{ concert_id: string }>(`SELECT DISTINCT concert_id FROM ${this.s}.tokens WHERE status = 'WAITING'`)
    return rows.map((r) => r.concert_id)
  }
}

export const waitingRoomMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'queue tokens',
    up: (s) => `
      CREATE SEQUENCE ${s}.arrivals;
      CREATE TABLE ${s}.tokens (
        token text PRIMARY KEY,
        concert_id uuid NOT NULL,
        member_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('WAITING', 'ACTIVE', 'EXPIRED', 'COMPLETED')),
        seq bigint,
        joined_at timestamptz NOT NULL,
        activated_at timestamptz,
        active_until timestamptz,
        ended_at timestamptz
      );
      -- One live token per member and concert.
      CREATE UNIQUE INDEX tokens_one_live ON ${s}.tokens (concert_id, member_id) WHERE status IN ('WAITING', 'ACTIVE');
      CREATE INDEX tokens_waiting ON ${s}.tokens (concert_id, seq) WHERE status = 'WAITING';
      CREATE INDEX tokens_prequeue ON ${s}.tokens (concert_id) WHERE status = 'WAITING' AND seq IS NULL;
      CREATE INDEX tokens_active ON ${s}.tokens (concert_id, active_until) WHERE status = 'ACTIVE';
      CREATE INDEX tokens_activated ON ${s}.tokens (concert_id, activated_at);
      -- When a holder was last seen (a poll, an open connection), written in batches, never per poll.
      CREATE TABLE ${s}.presence (token text PRIMARY KEY, seen_at timestamptz NOT NULL);`,
  },
  {
    version: 2,
    name: 'the catalog, as the waiting room follows it',
    up: (s) => `CREATE TABLE ${s}.concerts (concert_id uuid PRIMARY KEY, sales_open_at timestamptz);`,
  },
]
