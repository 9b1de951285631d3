import { isoTime, isoTimeOrNull, schemaName, type Migration, type Queryable } from '@tidings/postgres'
import type { Concert, Performance } from './concert'

/** A performance as the catalog shows it: with how many of its seats can still be held. */
export interface ListedPerformance extends Performance {
  availableSeats: number
}

export interface ListedConcert extends Omit<Concert, 'performances' | 'version'> {
  performances: ListedPerformance[]
}

/** Concerts, their performances and every performance's seats, in the concert service's schema. */
export class ConcertRepository {
  private readonly s: string

  constructor(schema: string) {
    this.s = schemaName(schema)
  }

  /** A new concert with its performances and their seats, all AVAILABLE. */
  async insert(tx: Queryable, concert: Concert, now: Date): Promise<void> {
    const p = concert.performances
    const starts = p.map((x) => x.startsAt).sort()
    await tx.query(
      `INSERT INTO ${this.s}.concerts (concert_id, title, sales_open_at, first_starts_at, last_starts_at, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [concert.concertId, concert.title, concert.salesOpenAt, starts[0], starts.at(-1), concert.version, now.toISOString()],
    )
    await tx.query(
      `INSERT INTO ${this.s}.performances (performance_id, concert_id, starts_at, seat_count, price, available_seats)
       SELECT id, $1, starts_at, seat_count, price, seat_count FROM unnest($2::uuid[], $3::timestamptz[], $4::int[], $5::bigint[]) AS p(id, starts_at, seat_count, price)`,
      [concert.concertId, p.map((x) => x.performanceId), p.map((x) => x.startsAt), p.map((x) => x.seatCount), p.map((x) => x.price)],
    )
    await tx.query(
      `INSERT INTO ${this.s}.seats (performance_id, seat_no, status)
       SELECT p.performance_id, n, 'AVAILABLE' FROM ${this.s}.performances p, generate_series(1, p.seat_count) AS n WHERE p.concert_id = $1`,
      [concert.concertId],
    )
  }

  /**
   * Concerts still to come (their last performance has not started), in the order they begin, a page after
   * the concert `after`.
   */
  async upcoming(db: Queryable, page: { after?: string | undefined; limit: number }, now: Date): Promise<ListedConcert[]> {
    const { rows } = await db.query<{ concert_id: string }>(
      `SELECT c.concert_id FROM ${this.s}.concerts c
       WHERE c.last_starts_at > $1
         AND ($2::uuid IS NULL OR (c.first_starts_at, c.concert_id) > (SELECT a.first_starts_at, a.concert_id FROM ${this.s}.concerts a WHERE a.concert_id = $2::uuid))
       ORDER BY c.first_starts_at, c.concert_id LIMIT $3`,
      [now.toISOString(), page.after ?? null, page.limit],
    )
    return this.listed(db, rows.map((r) => r.concert_id))
  }

  async find(db: Queryable, concertId: string): Promise<ListedConcert | undefined> {
    return (await this.listed(db, [concertId]))[0]
  }

  async count(db: Queryable): Promise<number> {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.s}.concerts`)
    return rows[0]!.n
  }

  private async listed(db: Queryable, ids: readonly string[]): Promise<ListedConcert[]> {
    if (ids.length === 0) return []
    const { rows } = await db.query<{
      concert_id: string
      title: string
      sales_open_at: Date | string | null
      performance_id: string
      starts_at: Date | string
      seat_count: number
      price: string
      available: number
    }>(
      `SELECT c.concert_id, c.title, c.sales_open_at, p.performance_id, p.starts_at, p.seat_count, p.price::text AS price,
         p.available_seats AS available
       FROM ${this.s}.concerts c JOIN ${this.s}.performances p USING (concert_id)
       WHERE c.concert_id = ANY($1::uuid[]) ORDER BY p.starts_at, p.performance_id`,
      [ids],
    )
    const byId = new Map<string, ListedConcert>()
    for (const r of rows) {
      let concert = byId.get(r.concert_id)
      if (!concert) byId.set(r.concert_id, (concert = { concertId: r.concert_id, title: r.title, salesOpenAt: isoTimeOrNull(r.sales_open_at), performances: [] }))
      concert.performances.push({ performanceId: r.performance_id, startsAt: isoTime(r.starts_at), seatCount: Number(r.seat_count), price: Number(r.price), availableSeats: Number(r.available) })
    }
    return ids.flatMap((id) => byId.get(id) ?? [])
  }
}

export const concertMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'concerts, performances and seats',
    up: (s) => `
      CREATE TABLE ${s}.concerts (
        concert_id uuid PRIMARY KEY,
        title text NOT NULL,
        sales_open_at timestamptz,
        first_starts_at timestamptz NOT NULL,
        last_starts_at timestamptz NOT NULL,
        version int NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX concerts_in_order ON ${s}.concerts (first_starts_at, concert_id);
      -- available_seats is kept with every seat change (in its transaction): the catalog never counts seats.
      CREATE TABLE ${s}.performances (
        performance_id uuid PRIMARY KEY,
        concert_id uuid NOT NULL REFERENCES ${s}.concerts,
        starts_at timestamptz NOT NULL,
        seat_count int NOT NULL CHECK (seat_count BETWEEN 1 AND 10000),
        price bigint NOT NULL CHECK (price > 0),
        available_seats int NOT NULL CHECK (available_seats BETWEEN 0 AND seat_count)
      );
      CREATE INDEX performances_by_concert ON ${s}.performances (concert_id, starts_at);
      CREATE TABLE ${s}.seats (
        performance_id uuid NOT NULL REFERENCES ${s}.performances,
        seat_no int NOT NULL,
        status text NOT NULL CHECK (status IN ('AVAILABLE', 'HELD', 'RESERVED')),
        PRIMARY KEY (performance_id, seat_no)
      );
      CREATE INDEX seats_available ON ${s}.seats (performance_id, seat_no) WHERE status = 'AVAILABLE';`,
  },
]
