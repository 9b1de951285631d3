import { formatPosition, parsePosition, START, type Envelope, type FeedLag, type FeedPage, type FeedReader, type Position, type ReadOptions } from '@tidings/core'
import type { Queryable } from '../database/database'
import type { FeedSignals } from './feed-signals'
import { sleep } from '../sleep'
import { trimmedThrough } from './feed-retention'
import { schemaName } from '../database/sql'

interface OutboxRow {
  id: string
  type: string
  key: string
  version: string | null
  occurred_at: string
  data: unknown
  meta: Envelope['meta']
  xid: string
  seq: string
}

/** An empty page while committed events wait behind the horizon is retried after this, doubling up to the max. */
const HORIZON_PAUSE_MS = 2
const MAX_HORIZON_PAUSE_MS = 50

/** Another instance may report a reader's position once the reporting one has been quiet this long. */
export const READER_TAKEOVER_MS = 60_000
/** Bounds the memory of who reported when. */
const MAX_REMEMBERED_REPORTS = 10_000
/** Readers report where they are at most this often; retention keeps what live readers still need. */
const READER_REPORT_INTERVAL_MS = 5_000

/**
 * The outbox read as a log. It never returns a row at or past the oldest transaction still in flight
 * (`pg_snapshot_xmin`), so a row committed later can never appear behind a position already handed out.
 */
export class OutboxFeed implements FeedReader {
  private readonly s: string
  private readonly reported = new Map<string, number>()

  constructor(
    private readonly db: Queryable,
    /** The producer's schema: its outbox and the positions its readers report. */
    readonly schema: string,
    readonly source: string,
    private readonly signals?: FeedSignals,
  ) {
    this.s = schemaName(schema)
  }

  /**
   * One page after `after`. With `waitMs`, an empty page waits for the feed to grow: for an in-process
   * signal (or the whole `waitMs` without signals), or — when committed events exist but an older open
   * transaction still holds them behind the horizon — in short, growing pauses until that transaction ends.
   */
  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    const { waitMs = 0, signal, reader, session } = options
    const deadline = performance.now() + waitMs
    let pauseMs = HORIZON_PAUSE_MS
    for (;;) {
      const seen = this.signals?.count(this.source)
      const { page, held } = await this.readNow(after, limit, reader, session)
      const left = deadline - performance.now()
      if (page.items.length > 0 || left <= 0 || signal?.aborted) return page
      // Committed events held behind an older open transaction: its commit may not signal this feed (it
      // may be another feed's), so look again after a short, growing pause, or at a signal if one comes.
      const waitMs = held ? Math.min(pauseMs, left) : left
      if (this.signals) await this.signals.wait(this.source, waitMs, signal, seen)
      else await sleep(waitMs, signal)
      if (held) pauseMs = Math.min(pauseMs * 2, MAX_HORIZON_PAUSE_MS)
    }
  }

  /**
   * The page after `after`: the events below the horizon (committed before every transaction still open
   * began, so none can commit before them). `held` says that committed events after the page wait behind
   * the horizon; the query reads them with the page, and the page ends where they start.
   */
  private async readNow(after: Position, limit: number, reader?: string, session?: string): Promise<{ page: FeedPage; held: boolean }> {
    const from = parsePosition(after)
    // Rows past the horizon only say that they are there: their columns are not read out, sent or parsed.
    const result = await this.db.query<OutboxRow & { visible: boolean }>(
      `SELECT CASE WHEN h.visible THEN id::text END AS id, CASE WHEN h.visible THEN type END AS type, CASE WHEN h.visible THEN key END AS key,
              CASE WHEN h.visible THEN version::text END AS version,
              CASE WHEN h.visible THEN to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END AS occurred_at,
              CASE WHEN h.visible THEN data END AS data, CASE WHEN h.visible THEN meta END AS meta,
              feed_xid::text AS xid, seq::text AS seq, h.visible
       FROM ${this.s}.outbox o, LATERAL (SELECT o.feed_xid < pg_snapshot_xmin(pg_current_snapshot()) AS visible) h
       WHERE (o.feed_xid, o.seq) > ($1::text::xid8, $2::bigint)
       ORDER BY o.feed_xid, o.seq -- qualified: the bare names would sort by the text aliases above
       LIMIT $3`,
      [from.xid.toString(), from.seq.toString(), limit],
    )
    // In feed order, the visible events come first (the horizon is a transaction id).
    const visible = result.rows.findIndex((row) => !row.visible)
    const rows = visible === -1 ? result.rows : result.rows.slice(0, visible)
    const items = rows.map((row) => this.toEnvelope(row))
    const next = items.at(-1)?.position ?? after
    // Report where the reader asked from (what it has applied), not the end of a page it may never commit:
    // retention deletes up to the reported position.
    if (reader) await this.reportReader(reader, after, session)
    return { page: { items, next }, held: visible !== -1 }
  }

  /** The last position retention has deleted (see `cleanupFeed`); undefined while it has deleted none. */
  trimmedThrough(): Promise<Position | undefined> {
    return trimmedThrough(this.db, this.schema)
  }

  async lag(after: Position): Promise<FeedLag> {
    const from = parsePosition(after)
    const result = await this.db.query<{ events: string; oldest: Date | string | null }>(
      `SELECT count(*)::text AS events, min(occurred_at) AS oldest FROM ${this.s}.outbox
       WHERE (feed_xid, seq) > ($1::text::xid8, $2::bigint)`,
      [from.xid.toString(), from.seq.toString()],
    )
    const row = result.rows[0]!
    const lag: FeedLag = { events: Number(row.events) }
    if (row.oldest) lag.oldestUnreadAt = new Date(row.oldest)
    return lag
  }

  /** The position of the last event a reader can see now. */
  async head(): Promise<Position> {
    const result = await this.db.query<{ xid: string; seq: string }>(
      `SELECT o.feed_xid::text AS xid, o.seq::text AS seq FROM ${this.s}.outbox o
       WHERE o.feed_xid < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY o.feed_xid DESC, o.seq DESC LIMIT 1`,
    )
    const row = result.rows[0]
    return row ? formatPosition({ xid: BigInt(row.xid), seq: BigInt(row.seq) }) : START
  }

  private toEnvelope(row: OutboxRow): Envelope {
    const envelope: Envelope = {
      id: row.id,
      type: row.type,
      source: this.source,
      key: row.key,
      position: `${row.xid}-${row.seq}`,
      occurredAt: row.occurred_at,
      data: row.data,
      meta: row.meta,
    }
    if (row.version !== null) envelope.version = Number(row.version)
    return envelope
  }

  /**
   * Tells retention that `reader` has applied the feed up to `position` (noted at most every few seconds).
   * The name belongs to the session that reports it: another session's report is ignored until the holder
   * has been quiet for `READER_TAKEOVER_MS` (a standby taking over), so one reader cannot move another's
   * position (which would hide its lag, or let retention delete what it still needs).
   */
  async reportReader(reader: string, position: Position, session?: string): Promise<void> {
    const now = Date.now()
    const key = `${reader}\u0000${session ?? ''}`
    if (now - (this.reported.get(key) ?? 0) < READER_REPORT_INTERVAL_MS) return
    if (this.reported.size >= MAX_REMEMBERED_REPORTS) this.forgetReportsBefore(now - READER_REPORT_INTERVAL_MS)
    this.reported.set(key, now)
    await this.db.query(
      `INSERT INTO ${this.s}.feed_readers AS r (reader, position, seen_at, session) VALUES ($1, $2, now(), $3)
       ON CONFLICT (reader) DO UPDATE SET position = excluded.position, seen_at = excluded.seen_at, session = excluded.session
       WHERE r.session IS NOT DISTINCT FROM excluded.session OR r.seen_at < now() - $4 * interval '1 millisecond'`,
      [reader.slice(0, 200), position, session ?? null, READER_TAKEOVER_MS],
    )
  }

  private forgetReportsBefore(cutoff: number): void {
    for (const [key, at] of this.reported) if (at < cutoff) this.reported.delete(key)
    // Still full of recent reporters (names sent by many callers at once): start over rather than grow.
    if (this.reported.size >= MAX_REMEMBERED_REPORTS) this.reported.clear()
  }
}
