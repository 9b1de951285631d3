import type { Queryable } from '@tidings/postgres'
import { eventually } from './eventually'

/**
 * Waits until every transaction that had started on the server before this call has ended. Feeds never
 * read past the oldest open transaction of the whole server, so on a shared PostgreSQL another test's open
 * transaction can briefly hide fresh commits; tests that read a feed right after writing call this first.
 */
export async function transactionsSettled(db: Queryable): Promise<void> {
  const mark = (await db.query<{ mark: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS mark')).rows[0]!.mark
  await eventually(
    async () => (await db.query<{ done: boolean }>('SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8 AS done', [mark])).rows[0]!.done,
    Boolean,
    { what: 'older transactions on the server to end' },
  )
}

/**
 * The consistency wait that apps under test are given. Feeds never read past the oldest open transaction
 * of the whole server, so on a shared, loaded PostgreSQL other tests can hold a read side back for longer
 * than the 2 s a production read waits; tests of read-your-writes want the wait, not its bound.
 */
export const TEST_CONSISTENCY_TIMEOUT_MS = 20_000

/**
 * Connections each service process a test starts may open (`TIDINGS_DATABASE_POOL`). The tests share one
 * PostgreSQL (100 connections) and run in parallel; clusters of six or seven processes at the default of
 * ten each could take them all, and a process refused a connection answers 503.
 */
export const TEST_DATABASE_POOL = 4
