import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { START, uuidv7, type Envelope } from '@tidings/core'
import { eventually, postgresReachable, TEST_DATABASE_URL, testEngines, transactionsSettled, uniqueName } from '@tidings/testing'
import { appendToOutbox } from './outbox'
import { OutboxFeed } from './outbox-feed'
import type { Queryable } from '../database/database'
import { migrate } from '../database/migrations'
import { platformMigrations } from '../database/platform-schema'
import { PgDatabase } from '../database/pg-database'

await testEngines() // fails in CI when the server is missing, says so locally
const reachable = await postgresReachable()

/** Real concurrency needs a server: PGlite runs one transaction at a time. */
describe.runIf(reachable)('gap-safe feed on PostgreSQL', () => {
  const clients: pg.Client[] = []
  const db = new PgDatabase({ connectionString: TEST_DATABASE_URL, maxConnections: 4 })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()))
    await db.close()
  })

  async function session(): Promise<pg.Client & Queryable> {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await client.connect()
    clients.push(client)
    return client as pg.Client & Queryable
  }

  async function freshFeed() {
    const schema = uniqueName('gap')
    await migrate(db, schema, 'tidings', platformMigrations)
    await db.query(`CREATE TABLE "${schema}".aggregates (id text PRIMARY KEY, version int NOT NULL)`)
    return { schema, feed: new OutboxFeed(db, schema, 'test.gap') }
  }

  const envelope = (key: string, version?: number): Envelope => ({
    id: uuidv7(),
    type: 'test.Happened.v1',
    source: 'test.gap',
    key,
    ...(version === undefined ? {} : { version }),
    occurredAt: new Date().toISOString(),
    data: { key, version },
    meta: {},
  })

  it('never passes the position of a transaction that took the lower id but commits later, and delivers both', async () => {
    const { schema, feed } = await freshFeed()
    const early = await feed.read(START, 10)
    expect(early.items).toEqual([])

    const a = await session()
    const b = await session()
    await a.query('BEGIN')
    await a.query('SELECT pg_current_xact_id()') // A takes the lower transaction id…
    await b.query('BEGIN')
    const [bEvent] = await appendToOutbox(b, schema, [envelope('b')])
    await b.query('COMMIT') // …but B commits first.

    // B is committed and visible, yet the reader must not move past A's place in the feed.
    expect((await db.query(`SELECT count(*)::int AS n FROM "${schema}".outbox`)).rows[0]).toEqual({ n: 1 })
    const whileAInFlight = await feed.read(START, 10)
    expect(whileAInFlight).toEqual({ items: [], next: START })
    expect(await feed.head()).toBe(START)

    const [aEvent] = await appendToOutbox(a, schema, [envelope('a')])
    await a.query('COMMIT')

    await transactionsSettled(db)
    const after = await feed.read(whileAInFlight.next, 10)
    expect(after.items.map((e) => e.id)).toEqual([aEvent!.id, bEvent!.id])
    expect(after.next).toBe(bEvent!.position)
  })

  it('a waiting read gets events held behind an open transaction as soon as it ends, with no signal to wake it', async () => {
    const { schema, feed } = await freshFeed()
    const a = await session()
    const b = await session()
    await a.query('BEGIN')
    await a.query('SELECT pg_current_xact_id()')
    await b.query('BEGIN')
    const [bEvent] = await appendToOutbox(b, schema, [envelope('b')])
    await b.query('COMMIT')
    // No signals: only the pauses for held events can see A end before the 60 s wait is over.
    const reading = feed.read(START, 10, { waitMs: 60_000 })
    const [aEvent] = await appendToOutbox(a, schema, [envelope('a')])
    await a.query('COMMIT')
    const page = await reading
    expect(page.items.map((e) => e.id)).toEqual([aEvent!.id, bEvent!.id])
  })

  it('a page ends where events held behind an open transaction begin, whatever the limit; the held ones follow once it ends', async () => {
    const { schema, feed } = await freshFeed()
    const before = await appendToOutbox(db, schema, [envelope('v1'), envelope('v2'), envelope('v3')])
    const a = await session()
    const b = await session()
    await a.query('BEGIN')
    await a.query('SELECT pg_current_xact_id()')
    await b.query('BEGIN')
    const held = await appendToOutbox(b, schema, [envelope('h1'), envelope('h2')])
    await b.query('COMMIT')
    const ids = (page: { items: Array<{ id: string }> }) => page.items.map((e) => e.id)
    expect(ids(await feed.read(START, 10))).toEqual(before.map((e) => e.id))
    expect(ids(await feed.read(START, 3))).toEqual(before.map((e) => e.id))
    const two = await feed.read(START, 2)
    expect(ids(two)).toEqual(before.slice(0, 2).map((e) => e.id))
    expect(ids(await feed.read(two.next, 2))).toEqual([before[2]!.id])
    expect(await feed.read(before[2]!.position!, 10)).toEqual({ items: [], next: before[2]!.position })
    await a.query('ROLLBACK')
    await transactionsSettled(db)
    expect(ids(await feed.read(before[2]!.position!, 1))).toEqual([held[0]!.id])
    expect(ids(await feed.read(before[2]!.position!, 10))).toEqual(held.map((e) => e.id))
  })

  it('keeps an aggregate in version order when the transaction with the lower id waited for its lock', async () => {
    const { schema, feed } = await freshFeed()
    await db.query(`INSERT INTO "${schema}".aggregates VALUES ('agg', 1)`)
    const t1 = await session()
    const t2 = await session()
    await t1.query('BEGIN')
    const xid1 = (await t1.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x
    await t2.query('BEGIN')
    await t2.query(`SELECT version FROM "${schema}".aggregates WHERE id = 'agg' FOR UPDATE`)
    const xid2 = (await t2.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x
    expect(BigInt(xid1)).toBeLessThan(BigInt(xid2))

    // T1 queues for the aggregate's lock while T2 holds it.
    const t1Turn = (async () => {
      const row = await t1.query<{ version: number }>(`SELECT version FROM "${schema}".aggregates WHERE id = 'agg' FOR UPDATE`)
      const version = row.rows[0]!.version + 1
      await t1.query(`UPDATE "${schema}".aggregates SET version = $1 WHERE id = 'agg'`, [version])
      const [e] = await appendToOutbox(t1, schema, [envelope('agg', version)])
      await t1.query('COMMIT')
      return e!
    })()
    await t2.query(`UPDATE "${schema}".aggregates SET version = 2 WHERE id = 'agg'`)
    const [v2] = await appendToOutbox(t2, schema, [envelope('agg', 2)])
    await t2.query('COMMIT')
    const v3 = await t1Turn

    expect(v3.version).toBe(3)
    await transactionsSettled(db)
    const items = (await feed.read(START, 10)).items
    expect(items.map((e) => e.version)).toEqual([2, 3])
    expect(items.map((e) => e.id)).toEqual([v2!.id, v3.id])
  })

  it('keeps events without a version in commit order when the transaction with the lower id waited for the lock', async () => {
    const { schema, feed } = await freshFeed()
    await db.query(`INSERT INTO "${schema}".aggregates VALUES ('agg', 0)`)
    const t1 = await session()
    const t2 = await session()
    await t1.query('BEGIN')
    const xid1 = (await t1.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x
    const pid1 = (await t1.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    await t2.query('BEGIN')
    await t2.query(`UPDATE "${schema}".aggregates SET version = version + 1 WHERE id = 'agg'`)
    const xid2 = (await t2.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x
    expect(BigInt(xid1)).toBeLessThan(BigInt(xid2))

    // T1 queues for the aggregate's lock while T2 holds it; neither records a version.
    const t1Turn = (async () => {
      await t1.query(`UPDATE "${schema}".aggregates SET version = version + 1 WHERE id = 'agg'`)
      const [e] = await appendToOutbox(t1, schema, [envelope('agg')])
      await t1.query('COMMIT')
      return e!
    })()
    await eventually(
      async () => (await db.query<{ waits: boolean }>('SELECT cardinality(pg_blocking_pids($1)) > 0 AS waits', [pid1])).rows[0]!.waits,
      Boolean,
      { what: 'T1 to wait for the lock' },
    )
    const [committedFirst] = await appendToOutbox(t2, schema, [envelope('agg')])
    await t2.query('COMMIT')
    const committedSecond = await t1Turn

    await transactionsSettled(db)
    const items = (await feed.read(START, 10)).items
    expect(items.map((e) => e.id)).toEqual([committedFirst!.id, committedSecond.id])
  })
})
