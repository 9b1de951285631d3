import { describe, expect, it } from 'vitest'
import { comparePositions, Dispatcher, event, InvalidPosition, PayloadTooLarge, START, UnsupportedCharacter, VersionConflict, type Envelope } from '@tidings/core'
import { cleanupFeed, OutboxFeed, UnitOfWork, type Queryable } from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { transactionsSettled } from '../feed-horizon'

/** The outbox and its feed: what every engine must do for producers and readers. */
export function outboxFeedContract(engine: TestEngine): void {
  describe(`outbox and feed on ${engine.name}`, () => {
    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('feed')
      await db.query(`CREATE TABLE "${schema}".accounts (id text PRIMARY KEY, balance int NOT NULL, version int NOT NULL)`)
      const uow = new UnitOfWork({ db, schema, source: 'test.accounts' })
      const feed = settledReads(db, new OutboxFeed(db, schema, 'test.accounts'))
      return { db, schema, uow, feed }
    }

    it('appends events with state in one transaction and reads them back in order', async () => {
      const { uow, feed, schema } = await setup()
      const committed = await uow.run(async (tx) => {
        await tx.query(`INSERT INTO "${schema}".accounts VALUES ('a', 10, 1)`)
        tx.record(event('test.Opened.v1', 'a', { balance: 10 }, 1), event('test.Deposited.v1', 'a', { amount: 5 }, 2))
      })
      expect(committed.events).toHaveLength(2)
      expect(committed.token?.source).toBe('test.accounts')
      expect(committed.token?.position).toBe(committed.events[1]!.position)
      const page = await feed.read(START, 10)
      expect(page.items.map((e) => e.type)).toEqual(['test.Opened.v1', 'test.Deposited.v1'])
      expect(page.items.map((e) => e.id)).toEqual(committed.events.map((e) => e.id))
      expect(page.items[0]).toMatchObject({ source: 'test.accounts', key: 'a', version: 1, data: { balance: 10 }, meta: {} })
      expect(page.next).toBe(committed.token?.position)
      expect(comparePositions(page.items[0]!.position!, page.items[1]!.position!)).toBe(-1)
    })

    it('keeps the order of many events recorded by one transaction', async () => {
      const { uow, feed } = await setup()
      await uow.run(async (tx) => {
        for (let v = 1; v <= 25; v++) tx.record(event('test.Tick.v1', 'many', { v }, v))
      })
      expect((await feed.read(START, 100)).items.map((e) => e.version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
      const head = await feed.head()
      expect(head.endsWith('-25')).toBe(true)
    })

    it('pages by position with after and limit', async () => {
      const { uow, feed } = await setup()
      for (let i = 1; i <= 7; i++) await uow.run(async (tx) => tx.record(event('test.Tick.v1', `k${i % 3}`, { i })))
      const first = await feed.read(START, 3)
      const second = await feed.read(first.next, 3)
      const third = await feed.read(second.next, 3)
      const rest = await feed.read(third.next, 3)
      expect([...first.items, ...second.items, ...third.items].map((e) => (e.data as { i: number }).i)).toEqual([1, 2, 3, 4, 5, 6, 7])
      expect(third.items).toHaveLength(1)
      expect(rest).toEqual({ items: [], next: third.next })
    })

    it('rolls the command back when an in-transaction handler fails, and never fails it for an after-commit one', async () => {
      const { db, schema, feed } = await setup()
      const afterCommitFailures: string[] = []
      const dispatcher = new Dispatcher<Queryable>({ onAfterCommitFailure: (type) => afterCommitFailures.push(type) })
      dispatcher.inTransaction('test.Deposited.v1', async (tx, e) => {
        const amount = (e.data as { amount: number }).amount
        if (amount < 0) throw new Error('ledger refuses negative amounts')
        await tx.query(`INSERT INTO "${schema}".accounts VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + $2`, [`ledger-${e.key}`, amount])
      })
      dispatcher.afterCommit('test.Deposited.v1', () => {
        throw new Error('cache is down')
      })
      const uow = new UnitOfWork({ db, schema, source: 'test.accounts', dispatcher })
      await uow.run(async (tx) => tx.record(event('test.Deposited.v1', 'a', { amount: 5 })))
      await expect(
        uow.run(async (tx) => {
          await tx.query(`INSERT INTO "${schema}".accounts VALUES ('b', 1, 1)`)
          tx.record(event('test.Deposited.v1', 'b', { amount: -1 }))
        }),
      ).rejects.toThrow('ledger refuses')
      const accounts = await db.query<{ id: string; balance: number }>(`SELECT id, balance FROM "${schema}".accounts ORDER BY id`)
      expect(accounts.rows).toEqual([{ id: 'ledger-a', balance: 5 }])
      expect((await feed.read(START, 10)).items).toHaveLength(1)
      expect(afterCommitFailures).toEqual(['test.Deposited.v1'])
    })

    it('refuses a second event with the same key and version', async () => {
      const { uow, feed } = await setup()
      await uow.run(async (tx) => tx.record(event('test.Opened.v1', 'a', {}, 1)))
      await expect(uow.run(async (tx) => tx.record(event('test.Opened.v1', 'a', {}, 1)))).rejects.toBeInstanceOf(VersionConflict)
      expect((await feed.read(START, 10)).items).toHaveLength(1)
    })

    it('keeps every key in version order when commands contend for the same aggregates', async () => {
      const { uow, feed, schema } = await setup()
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          uow.run(async (tx) => {
            const key = `k${i % 4}`
            // Take a transaction id first, then queue for the aggregate's lock: the case where id order is not commit order.
            await tx.query('SELECT pg_current_xact_id()')
            await tx.query(`INSERT INTO "${schema}".accounts VALUES ($1, 0, 0) ON CONFLICT (id) DO NOTHING`, [key])
            const row = await tx.query<{ version: number }>(`SELECT version FROM "${schema}".accounts WHERE id = $1 FOR UPDATE`, [key])
            const version = row.rows[0]!.version + 1
            await tx.query(`UPDATE "${schema}".accounts SET version = $2 WHERE id = $1`, [key, version])
            tx.record(event('test.Tick.v1', key, { i }, version))
          }),
        ),
      )
      const items = await readAll(feed)
      expect(items).toHaveLength(60)
      for (let k = 0; k < 4; k++) {
        expect(items.filter((e) => e.key === `k${k}`).map((e) => e.version)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1))
      }
    })

    it('refuses oversized and unstorable events and leaves nothing half-written', async () => {
      const { db, schema, feed } = await setup()
      const uow = new UnitOfWork({ db, schema, source: 'test.accounts', maxEventBytes: 1024 })
      const write = (data: unknown) =>
        uow.run(async (tx) => {
          await tx.query(`INSERT INTO "${schema}".accounts VALUES ('x', 1, 1)`)
          tx.record(event('test.Opened.v1', 'x', data, 1))
        })
      await expect(write({ blob: 'x'.repeat(2000) })).rejects.toBeInstanceOf(PayloadTooLarge)
      await expect(write({ text: 'nul \u0000 inside' })).rejects.toBeInstanceOf(UnsupportedCharacter)
      expect((await db.query(`SELECT 1 FROM "${schema}".accounts`)).rowCount).toBe(0)
      expect((await feed.read(START, 10)).items).toEqual([])
      await write({ text: '한국어 ✓ \\u0000 as text is fine' })
      expect((await feed.read(START, 10)).items[0]!.data).toEqual({ text: '한국어 ✓ \\u0000 as text is fine' })
    })

    it('rejects positions that are not positions', async () => {
      const { feed } = await setup()
      for (const bad of ['-1', 'abc', '1-', '01-2', '1-2-3', '99999999999999999999999-1', "1-1' OR 1=1"]) {
        await expect(feed.read(bad, 10)).rejects.toBeInstanceOf(InvalidPosition)
      }
    })

    it('reports lag and head', async () => {
      const { uow, feed } = await setup()
      expect(await feed.head()).toBe(START)
      for (let i = 0; i < 5; i++) await uow.run(async (tx) => tx.record(event('test.Tick.v1', 'k', { i })))
      const head = await feed.head()
      const lag = await feed.lag(START)
      expect(lag.events).toBe(5)
      expect(lag.oldestUnreadAt).toBeInstanceOf(Date)
      expect(await feed.lag(head)).toEqual({ events: 0 })
    })

    it('retention removes old events but keeps what a live reader has not applied', async () => {
      const { db, schema, uow, feed } = await setup()
      for (let i = 0; i < 6; i++) await uow.run(async (tx) => tx.record(event('test.Tick.v1', 'k', { i })))
      await db.query(`UPDATE "${schema}".outbox SET occurred_at = now() - interval '30 days'`)
      const policy = { retainMs: 24 * 3600_000, readerLivenessMs: 3600_000 }
      // A reader's position is the `after` it asks with: a page it has been handed may still fail to commit.
      const firstTwo = await feed.read(START, 2, { reader: 'slow-reader' })
      expect(firstTwo.items).toHaveLength(2)
      expect(await cleanupFeed(db, schema, policy)).toBe(0)
      // Asking from the end of that page says the reader has applied it. (Reports are throttled per reader and
      // feed instance, so the next one goes through a fresh instance, as after a restart.)
      const again = settledReads(db, new OutboxFeed(db, schema, 'test.accounts'))
      const left = await again.read(firstTwo.next, 10, { reader: 'slow-reader' })
      expect(left.items.map((e) => (e.data as { i: number }).i)).toEqual([2, 3, 4, 5])
      expect(await cleanupFeed(db, schema, policy)).toBe(2)
      expect((await feed.read(START, 10)).items.map((e) => (e.data as { i: number }).i)).toEqual([2, 3, 4, 5])
      await db.query(`UPDATE "${schema}".feed_readers SET seen_at = now() - interval '2 days'`)
      expect(await cleanupFeed(db, schema, policy)).toBe(4)
      // A reader gone quiet past the liveness window is forgotten, not kept for ever.
      expect((await db.query(`SELECT reader FROM "${schema}".feed_readers`)).rows).toEqual([])
    })
  })
}

/** The feed, but every read first waits for transactions other tests hold open on a shared server. */
function settledReads(db: Queryable, feed: OutboxFeed) {
  return {
    read: async (...args: Parameters<OutboxFeed['read']>) => (await transactionsSettled(db), feed.read(...args)),
    head: async () => (await transactionsSettled(db), feed.head()),
    lag: async (after: string) => (await transactionsSettled(db), feed.lag(after)),
  }
}

export async function readAll(feed: Pick<OutboxFeed, 'read'>, from = START): Promise<Envelope[]> {
  const all: Envelope[] = []
  let after = from
  for (;;) {
    const page = await feed.read(after, 1000)
    if (page.items.length === 0) return all
    all.push(...page.items)
    after = page.next
  }
}
