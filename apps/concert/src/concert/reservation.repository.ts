import { isoTime, runWrites, schemaName, valuesList, type Migration, type Queryable, type Write } from '@tidings/postgres'
import { PaymentMarks } from '../payment-marks'
import type { HeldPerformance, Reservation, ReservationStatus } from './reservation'

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'RESERVED'

export interface SeatView {
  seatNo: number
  price: number
  status: SeatStatus
}

/** What a seat becomes when its reservation does. */
const SEAT_OF: Record<ReservationStatus, SeatStatus> = { HELD: 'HELD', CONFIRMED: 'RESERVED', EXPIRED: 'AVAILABLE', CANCELED: 'AVAILABLE' }

interface ReservationRow {
  reservation_id: string
  concert_id: string
  performance_id: string
  seat_no: number
  member_id: string
  price: string
  status: ReservationStatus
  hold_expires_at: Date | string
  payment_id: string | null
  version: number
}

const COLUMNS = `reservation_id, concert_id, performance_id, seat_no, member_id, price::text AS price, status, hold_expires_at, payment_id, version`

const reservationOf = (r: ReservationRow): Reservation => ({
  reservationId: r.reservation_id,
  concertId: r.concert_id,
  performanceId: r.performance_id,
  seatNo: Number(r.seat_no),
  memberId: r.member_id,
  price: Number(r.price),
  status: r.status,
  holdExpiresAt: isoTime(r.hold_expires_at),
  paymentId: r.payment_id,
  version: Number(r.version),
})

/**
 * Seats and the reservations on them. A seat's status, its performance's count of available seats and the
 * reservation change together: `takeSeat` then `insert` for a hold, `save` for every later change. Locks
 * are taken in one order (reservation, seat, performance) so that two changes never wait on each other.
 */
export class ReservationRepository {
  private readonly s: string
  /** Payments that withdrew their confirmation: a confirmation of one, should it come later, is refused. */
  readonly withdrawn: PaymentMarks

  constructor(schema: string) {
    this.s = schemaName(schema)
    this.withdrawn = new PaymentMarks(schema, 'withdrawn_payments')
  }

  async performance(db: Queryable, performanceId: string): Promise<HeldPerformance | undefined> {
    const { rows } = await db.query<{ concert_id: string; starts_at: Date | string; seat_count: number; price: string }>(
      `SELECT concert_id, starts_at, seat_count, price::text AS price FROM ${this.s}.performances WHERE performance_id = $1`,
      [performanceId],
    )
    const r = rows[0]
    return r && { performanceId, concertId: r.concert_id, startsAt: isoTime(r.starts_at), seatCount: Number(r.seat_count), price: Number(r.price) }
  }

  async seats(db: Queryable, performanceId: string): Promise<SeatView[]> {
    const { rows } = await db.query<{ seat_no: number; price: string; status: SeatStatus }>(
      `SELECT s.seat_no, p.price::text AS price, s.status FROM ${this.s}.seats s JOIN ${this.s}.performances p USING (performance_id)
       WHERE s.performance_id = $1 ORDER BY s.seat_no`,
      [performanceId],
    )
    return rows.map((r) => ({ seatNo: Number(r.seat_no), price: Number(r.price), status: r.status }))
  }

  /**
   * Serializes one member's holds on one performance for the rest of the transaction, and counts those
   * still held: two holds at once cannot both see three.
   */
  async heldBy(tx: Queryable, memberId: string, performanceId: string): Promise<number> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${this.s}:holds:${memberId}:${performanceId}`])
    const { rows } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.s}.reservations WHERE member_id = $1 AND performance_id = $2 AND status = 'HELD'`, [
      memberId,
      performanceId,
    ])
    return rows[0]!.n
  }

  /** Marks an available seat held; false when it is held or sold already (of many at once, one wins). */
  async takeSeat(tx: Queryable, performanceId: string, seatNo: number): Promise<boolean> {
    const taken = await tx.query(`UPDATE ${this.s}.seats SET status = 'HELD' WHERE performance_id = $1 AND seat_no = $2 AND status = 'AVAILABLE'`, [performanceId, seatNo])
    if (taken.rowCount === 0) return false
    await tx.query(`UPDATE ${this.s}.performances SET available_seats = available_seats - 1 WHERE performance_id = $1`, [performanceId])
    return true
  }

  async insert(tx: Queryable, r: Reservation, now: Date): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.reservations (reservation_id, concert_id, performance_id, seat_no, member_id, price, status, hold_expires_at, payment_id, version, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [r.reservationId, r.concertId, r.performanceId, r.seatNo, r.memberId, r.price, r.status, r.holdExpiresAt, r.paymentId, r.version, now.toISOString()],
    )
  }

  async find(db: Queryable, reservationId: string): Promise<Reservation | undefined> {
    const { rows } = await db.query<ReservationRow>(`SELECT ${COLUMNS} FROM ${this.s}.reservations WHERE reservation_id = $1`, [reservationId])
    return rows[0] && reservationOf(rows[0])
  }

  /** Those of `reservationIds` that exist, in one statement. */
  async findMany(db: Queryable, reservationIds: readonly string[]): Promise<Reservation[]> {
    const { rows } = await db.query<ReservationRow>(`SELECT ${COLUMNS} FROM ${this.s}.reservations WHERE reservation_id = ANY($1::uuid[])`, [reservationIds])
    return rows.map(reservationOf)
  }

  async forUpdate(tx: Queryable, reservationId: string): Promise<Reservation | undefined> {
    const { rows } = await tx.query<ReservationRow>(`SELECT ${COLUMNS} FROM ${this.s}.reservations WHERE reservation_id = $1 FOR UPDATE`, [reservationId])
    return rows[0] && reservationOf(rows[0])
  }

  /** Those of `reservationIds` that exist, locked for a change in one statement (in one order, so two pages never wait on each other). */
  async lockAll(tx: Queryable, reservationIds: readonly string[]): Promise<Reservation[]> {
    const { rows } = await tx.query<ReservationRow>(`SELECT ${COLUMNS} FROM ${this.s}.reservations WHERE reservation_id = ANY($1::uuid[]) ORDER BY reservation_id FOR UPDATE`, [reservationIds])
    return rows.map(reservationOf)
  }

  /** Writes a changed reservation (locked by `forUpdate`) and moves its seat, and the count, with it. */
  async save(tx: Queryable, before: Reservation, after: Reservation): Promise<void> {
    await runWrites(tx, this.saving([{ before, after }]))
  }

  /**
   * The writes that store changed reservations (locked, one change each, from what was read to what is
   * now) and move their seats, and the counts, with them: to send with others (`runWrites`).
   */
  saving(changes: ReadonlyArray<{ before: Reservation; after: Reservation }>): Write[] {
    if (changes.length === 0) return []
    const rows = valuesList(
      changes.map(({ after: r }) => [r.reservationId, r.status, r.paymentId, r.version]),
      ['uuid', '', '', 'int'],
    )
    const reservations = {
      sql: `UPDATE ${this.s}.reservations AS r SET status = v.status, payment_id = v.payment_id, version = v.version
            FROM (VALUES ${rows.sql}) AS v(reservation_id, status, payment_id, version) WHERE r.reservation_id = v.reservation_id`,
      params: rows.params,
    }
    return [reservations, ...this.movingSeats(changes.filter(({ before, after }) => SEAT_OF[before.status] !== SEAT_OF[after.status]))]
  }

  /** The seats of reservations whose seat status changed, and their performances' counts of available seats. */
  private movingSeats(moved: ReadonlyArray<{ before: Reservation; after: Reservation }>): Write[] {
    if (moved.length === 0) return []
    const seats = valuesList(
      moved.map(({ after: r }) => [r.performanceId, r.seatNo, SEAT_OF[r.status]]),
      ['uuid', 'int', ''],
    )
    const writes = [
      {
        sql: `UPDATE ${this.s}.seats AS s SET status = v.status FROM (VALUES ${seats.sql}) AS v(performance_id, seat_no, status)
              WHERE s.performance_id = v.performance_id AND s.seat_no = v.seat_no`,
        params: seats.params,
      },
    ]
    const freed = new Map<string, number>()
    for (const { before, after } of moved) {
      const change = (SEAT_OF[after.status] === 'AVAILABLE' ? 1 : 0) - (SEAT_OF[before.status] === 'AVAILABLE' ? 1 : 0)
      freed.set(after.performanceId, (freed.get(after.performanceId) ?? 0) + change)
    }
    const changedCounts = [...freed].filter(([, n]) => n !== 0)
    if (changedCounts.length === 0) return writes
    const counts = valuesList(changedCounts, ['uuid', 'int'])
    writes.push({
      sql: `UPDATE ${this.s}.performances AS p SET available_seats = p.available_seats + v.freed FROM (VALUES ${counts.sql}) AS v(performance_id, freed)
            WHERE p.performance_id = v.performance_id`,
      params: counts.params,
    })
    return writes
  }
}

export const reservationMigrations: readonly Migration[] = [
  {
    version: 2,
    name: 'reservations',
    up: (s) => `
      CREATE TABLE ${s}.reservations (
        reservation_id uuid PRIMARY KEY,
        concert_id uuid NOT NULL REFERENCES ${s}.concerts,
        performance_id uuid NOT NULL,
        seat_no int NOT NULL,
        member_id text NOT NULL,
        price bigint NOT NULL CHECK (price > 0),
        status text NOT NULL CHECK (status IN ('HELD', 'CONFIRMED', 'EXPIRED', 'CANCELED')),
        hold_expires_at timestamptz NOT NULL,
        payment_id text,
        version int NOT NULL,
        created_at timestamptz NOT NULL,
        FOREIGN KEY (performance_id, seat_no) REFERENCES ${s}.seats,
        CHECK ((status = 'CONFIRMED') = (payment_id IS NOT NULL) OR status = 'CANCELED')
      );
      -- One live reservation a seat: a second hold or a sale twice cannot commit, whatever the code did.
      CREATE UNIQUE INDEX reservations_one_live_per_seat ON ${s}.reservations (performance_id, seat_no) WHERE status IN ('HELD', 'CONFIRMED');
      CREATE INDEX reservations_held_by_member ON ${s}.reservations (member_id, performance_id) WHERE status = 'HELD';
      CREATE TABLE ${s}.withdrawn_payments (payment_id text PRIMARY KEY);`,
  },
]
