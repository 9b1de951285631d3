import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Dispatcher, uuidv7, VersionConflict } from '@tidings/core'
import { eventually, testEngines } from '@tidings/testing'
import type { Database, Queryable } from '../database/database'
import { PgDatabase } from '../database/pg-database'
import { schemaName } from '../database/sql'
import { KeyAlreadyUsed } from './idempotency-keys'
import { KeyedCommand, runKeyed } from './keyed-command'
import { reactor } from './reactor'
import { recorded } from '../test-kit/recorded-database'
import { UnitOfWork } from './unit-of-work'

/**
 * Attacks on commands that commit in one statement (`LazyTransaction`, `CommandTx.write`, `withWrites`,
 * `appendToOutbox(…, before)`): whatever fails, and wherever, a command's row and its events are written
 * together or not at all, and nothing is left holding a connection.
 */

/**
 * Rejections nobody handled and errors nobody caught while a test ran: a refused command must leave none
 * behind (either ends a Node process). Only watched: the monitor changes nothing of what Node does.
 */
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtExceptionMonitor', onUnhandled)
})
afterEach(() => {
  process.off('unhandledRejection', onUnhandled)
  process.off('uncaughtExceptionMonitor', onUnhandled)
})
/** A few turns of the event loop: long enough for Node to report a rejection nobody handled. */
const settled = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

const added = (key: string, version = 1, data: unknown = null) => ({ type: 'test.Added', key, data, version })

for (const engine of await testEngines()) {
  describe(`one-statement commands under attack on ${engine.name}`, () => {
    async function setUp(options: { dispatcher?: Dispatcher<Queryable>; maxEventBytes?: number; db?: Database } = {}) {
      const plain = await engine.db()
      const schema = await engine.freshSchema('one')
      const s = schemaName(schema)
      await plain.query(`CREATE TABLE ${s}.items (id text PRIMARY KEY, n int NOT NULL CHECK (n >= 0))`)
      const { db, sent } = recorded(options.db ?? plain)
      const uow = new UnitOfWork({
        db,
        schema,
        source: 'test.items',
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        ...(options.maxEventBytes ? { maxEventBytes: options.maxEventBytes } : {}),
      })
      /** The item's row as an upsert: a command's `saving(state)`. */
      const item = (id: string, n: number) => ({
        sql: `INSERT INTO ${s}.items (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = excluded.n`,
        params: [id, n],
      })
      const items = async () => (await plain.query<{ id: string; n: number }>(`SELECT id, n FROM ${s}.items ORDER BY id`)).rows.map((r) => [r.id, r.n])
      const events = async () =>
        (await plain.query<{ key: string; version: string }>(`SELECT key, version::text FROM ${s}.outbox ORDER BY seq`)).rows.map((r) => [r.key, Number(r.version)])
      return { plain, uow, sent, schema, s, item, items, events }
    }

    it('leaves neither row nor event when the work fails after its first statement, or an in-transaction handler fails after the held write ran', async () => {
      const dispatcher = new Dispatcher<Queryable>()
      dispatcher.inTransaction('test.Refused', async () => {
        throw new Error('the handler refuses')
      })
      const { uow, sent, item, items, events } = await setUp({ dispatcher })
      await expect(
        uow.run(async (tx) => {
          await tx.query('SELECT 1')
          tx.write(item('a', 1))
          tx.record(added('a'))
          throw new Error('the work fails between its statements')
        }),
      ).rejects.toThrow('the work fails')
      // The handler runs after the held write was sent (handlers may read it): its failure rolls that back.
      await expect(
        uow.run(async (tx) => {
          tx.write(item('b', 1))
          tx.record({ type: 'test.Refused', key: 'b', data: null, version: 1 })
        }),
      ).rejects.toThrow('the handler refuses')
      expect(sent).toEqual(['BEGIN', 'tx SELECT', 'BEGIN', 'tx INSERT'])
      expect([await items(), await events()]).toEqual([[], []])
      await settled()
      expect(unhandled).toEqual([])
    })

    it('writes neither row nor event when the held write itself fails in the one statement, and reports its own error, not a version conflict', async () => {
      const { uow, sent, item, items, events } = await setUp()
      const refused = uow.run(async (tx) => {
        tx.write(item('neg', -1)) // breaks the CHECK
        tx.record(added('neg'))
      })
      await expect(refused).rejects.toThrow(/check constraint/i)
      await expect(refused).rejects.not.toBeInstanceOf(VersionConflict)
      expect(sent).toEqual(['WITH'])
      expect([await items(), await events()]).toEqual([[], []])
    })

    it('refuses a version taken in the transaction path (after a read) and with several events (appendMany): no row', async () => {
      const { uow, item, items, events } = await setUp()
      await uow.run(async (tx) => {
        tx.write(item('k', 1))
        tx.record(added('k', 1))
      })
      const afterRead = uow.run(async (tx) => {
        const { rows } = await tx.query<{ n: number }>(`SELECT 1 AS n`)
        tx.write(item('k', 2 + rows[0]!.n))
        tx.record(added('k', 1))
      })
      await expect(afterRead).rejects.toBeInstanceOf(VersionConflict)
      const many = uow.run(async (tx) => {
        tx.write(item('k', 9))
        tx.write(item('other', 9))
        tx.record(added('k', 2), added('other', 1), added('k', 1))
      })
      await expect(many).rejects.toBeInstanceOf(VersionConflict)
      expect([await items(), await events()]).toEqual([[['k', 1]], [['k', 1]]])
    })

    it('sends nothing at all for an event over maxEventBytes with a held write, alone or after a read', async () => {
      const { uow, sent, item, items, events } = await setUp({ maxEventBytes: 64 })
      const big = { text: 'x'.repeat(100) }
      await expect(
        uow.run(async (tx) => {
          tx.write(item('big', 1))
          tx.record(added('big', 1, big))
        }),
      ).rejects.toThrow()
      expect(sent).toEqual([])
      await expect(
        uow.run(async (tx) => {
          await tx.query('SELECT 1')
          tx.write(item('big', 1))
          tx.record(added('small', 1), added('big', 1, big))
        }),
      ).rejects.toThrow()
      expect([await items(), await events()]).toEqual([[], []])
      await settled()
      expect(unhandled).toEqual([])
    })

    it('refuses a command whose transaction cannot begin (BEGIN fails) with that error, and leaves no rejection unhandled', async () => {
      const plain = await engine.db()
      const failing: Database = {
        engine: plain.engine,
        query: (sql, params) => plain.query(sql, params),
        transaction: () => Promise.reject(new Error('BEGIN refused: the connection was lost')),
        listen: (channel, onPayload) => plain.listen(channel, onPayload),
        notify: (channel, payload) => plain.notify(channel, payload),
        close: async () => {},
      }
      const { uow, item, items, events } = await setUp({ db: failing })
      await expect(
        uow.run(async (tx) => {
          await tx.query('SELECT 1')
          tx.write(item('a', 1))
          tx.record(added('a'))
        }),
      ).rejects.toThrow('BEGIN refused')
      // A work that catches the failed statement and goes on: its commit cannot begin either.
      await expect(
        uow.run(async (tx) => {
          await tx.query('SELECT 1').catch(() => undefined)
          tx.write(item('b', 1))
          tx.record(added('b'))
        }),
      ).rejects.toThrow('BEGIN refused')
      expect([await items(), await events()]).toEqual([[], []])
      await settled()
      expect(unhandled, 'a rejection left unhandled by the refused command').toEqual([])
    })

    it('runs a query the work fired without awaiting it inside the transaction, before the row and events', async () => {
      const { uow, sent, item, items, events } = await setUp()
      await uow.run(async (tx) => {
        void tx.query(item('fired', 1).sql, item('fired', 1).params)
        tx.write(item('held', 1))
        tx.record(added('held'))
      })
      expect(sent).toEqual(['BEGIN', 'tx INSERT', 'tx WITH'])
      expect([await items(), await events()]).toEqual([
        [['fired', 1], ['held', 1]],
        [['held', 1]],
      ])
      // One that fails takes the whole command with it.
      const fired: Array<Promise<unknown>> = []
      await expect(
        uow.run(async (tx) => {
          fired.push(tx.query(item('bad', -1).sql, item('bad', -1).params).catch((error: unknown) => error))
          tx.write(item('held2', 1))
          tx.record(added('held2'))
        }),
      ).rejects.toThrow()
      expect(await fired[0]).toBeInstanceOf(Error)
      expect([await items(), await events()]).toEqual([
        [['fired', 1], ['held', 1]],
        [['held', 1]],
      ])
    })

    it('refuses a query sent after the unit ended (an after-commit hook using the command\'s tx) instead of opening a transaction nobody ends', async () => {
      // A real transaction begun there would never end: it would hold PGlite's one session (every later
      // statement of the process waits for it) or a pooled connection, idle in transaction. So transactions
      // begun once the unit has ended are answered here by a stand-in that holds nothing.
      const plain = await engine.db()
      let ended = false
      const begunAfterTheEnd: string[] = []
      const tracked: Database = {
        engine: plain.engine,
        query: (sql, params) => plain.query(sql, params),
        transaction: (work) => {
          if (!ended) return plain.transaction(work)
          begunAfterTheEnd.push('BEGIN')
          return work({ query: async (sql) => (begunAfterTheEnd.push(sql), { rows: [], rowCount: 0 }) })
        },
        listen: (channel, onPayload) => plain.listen(channel, onPayload),
        notify: (channel, payload) => plain.notify(channel, payload),
        close: async () => {},
      }
      const { uow, item, s, items } = await setUp({ db: tracked })
      for (const readFirst of [false, true]) {
        let late: Promise<unknown> | undefined
        await uow.run(async (tx) => {
          if (readFirst) await tx.query('SELECT 1')
          tx.write(item(`late-${readFirst}`, 1))
          tx.record(added(`late-${readFirst}`))
          tx.afterCommit(() => {
            ended = true
            late = tx.query(`INSERT INTO ${s}.items (id, n) VALUES ('after-${readFirst}', 1)`)
          })
        })
        const outcome = await late!.then(
          () => 'ran',
          () => 'refused',
        )
        expect([outcome, begunAfterTheEnd], `read first: ${readFirst}`).toEqual(['refused', []])
        ended = false
      }
      expect(await items()).toEqual([
        ['late-false', 1],
        ['late-true', 1],
      ])
    })

    it('commits exactly one of two concurrent commands on one aggregate (the same next version): the row is the winner\'s', async () => {
      const { uow, item, items, events } = await setUp()
      await uow.run(async (tx) => {
        tx.write(item('c', 1))
        tx.record(added('c', 1))
      })
      const outcomes = await Promise.allSettled(
        [11, 12].map((n) =>
          uow.run(async (tx) => {
            tx.write(item('c', n))
            tx.record(added('c', 2, { n }))
            return n
          }),
        ),
      )
      const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.result] : []))
      const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []))
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0]).toBeInstanceOf(VersionConflict)
      expect([await items(), await events()]).toEqual([[['c', won[0]]], [['c', 1], ['c', 2]]])
    })

    it('lets in-transaction handlers read the held row when only one of the unit\'s events is theirs, and commits it once', async () => {
      const seen: unknown[] = []
      const dispatcher = new Dispatcher<Queryable>()
      const { uow, item, s, items, events } = await setUp({ dispatcher })
      dispatcher.inTransaction('test.Handled', async (tx, e) => void seen.push((await tx.query<{ n: number }>(`SELECT n FROM ${s}.items WHERE id = $1`, [e.key])).rows[0]?.n))
      await uow.run(async (tx) => {
        tx.write(item('h', 7))
        tx.record(added('h', 1), { type: 'test.Handled', key: 'h', data: null, version: 2 })
      })
      expect(seen).toEqual([7])
      expect([await items(), await events()]).toEqual([[['h', 7]], [['h', 1], ['h', 2]]])
    })

    it('keeps a keyed command (Idempotency-Key) all or nothing: row, event and key together; a key used meanwhile or an event too large leaves none of them', async () => {
      const { uow, sent, item, items, events } = await setUp({ maxEventBytes: 64 })
      const request = (key: string) => ({ caller: 'member-1', key, fingerprint: `POST /items ${key}` })
      const keyed = (key: string, work: Parameters<UnitOfWork['run']>[0]) => runKeyed(new KeyedCommand(uow.idempotencyKeys, request(key)), () => uow.run(work))
      await keyed('k1', async (tx) => {
        tx.write(item('first', 1))
        tx.record(added('first'))
        return 'first'
      })
      expect(sent).toEqual(['BEGIN', 'tx WITH', 'tx WITH'])
      expect((await uow.idempotencyKeys.find('member-1', 'k1'))?.outcome.result).toBe('first')
      // Another request under the same key that got past the look before it (the race): refused at its end.
      await expect(
        keyed('k1', async (tx) => {
          tx.write(item('second', 1))
          tx.record(added('second'))
          return 'second'
        }),
      ).rejects.toBeInstanceOf(KeyAlreadyUsed)
      await expect(
        keyed('k2', async (tx) => {
          tx.write(item('big', 1))
          tx.record(added('big', 1, { text: 'x'.repeat(100) }))
        }),
      ).rejects.toThrow()
      expect(await uow.idempotencyKeys.find('member-1', 'k2')).toBeUndefined()
      expect([await items(), await events()]).toEqual([[['first', 1]], [['first', 1]]])
      await settled()
      expect(unhandled).toEqual([])
    })

    it('applies a reactor page whose units write the same row, each unit\'s write at its end (the last one wins)', async () => {
      const { plain, uow, item, items, schema } = await setUp()
      const def = reactor(uow, {
        name: 'test.same-row',
        follows: ['test.in'],
        react: async (tx, m) => {
          const { rows } = await tx.query<{ n: number }>(`SELECT n FROM ${schemaName(schema)}.items WHERE id = 'same'`)
          tx.write(item('same', (rows[0]?.n ?? 0) + (m.data as { n: number }).n))
          tx.record({ type: 'test.Summed', key: 'same', data: m.data })
        },
      })
      const page = [1, 10, 100].map((n) => ({ id: uuidv7(), type: 'test.Asked', source: 'test.in', key: `m${n}`, occurredAt: new Date().toISOString(), data: { n }, meta: {} }))
      await plain.transaction((tx) => def.handleBatch!(tx, page))
      expect(await items()).toEqual([['same', 111]])
      expect((await plain.query(`SELECT 1 FROM ${schemaName(schema)}.outbox`)).rowCount).toBe(3)
    })

    if (engine.name === 'postgres') {
      it('refuses a command whose pool cannot connect (BEGIN never runs), alone or after a read, and leaves no rejection unhandled', async () => {
        const unreachable = new PgDatabase({ connectionString: 'postgres://postgres@127.0.0.1:1/test', maxConnections: 1 })
        try {
          const { uow, item, items, events } = await setUp({ db: unreachable })
          for (const readFirst of [false, true]) {
            await expect(
              uow.run(async (tx) => {
                if (readFirst) await tx.query('SELECT 1')
                tx.write(item('a', 1))
                tx.record(added('a'))
              }),
            ).rejects.toThrow(/ECONNREFUSED|connect/)
          }
          expect([await items(), await events()]).toEqual([[], []])
          await settled()
          expect(unhandled, 'a rejection left unhandled by the refused command').toEqual([])
        } finally {
          await unreachable.close()
        }
      })

      it('writes nothing when the command\'s connection is terminated between its statements, throws nothing uncaught, and the next command runs', async () => {
        const killer = await engine.connect()
        const { uow, item, items, events } = await setUp()
        const killed = uow.run(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
          const pid = rows[0]!.pid
          await killer.query('SELECT pg_terminate_backend($1)', [pid])
          // Gone, its last word sent: the connection learns it is lost while the command holds it, between statements.
          await eventually(
            async () => (await killer.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]!.n,
            (n) => n === 0,
            { what: 'the terminated backend to end' },
          )
          await settled()
          tx.write(item('killed', 1))
          tx.record(added('killed'))
        })
        await expect(killed).rejects.toThrow()
        await uow.run(async (tx) => {
          await tx.query('SELECT 1')
          tx.write(item('next', 1))
          tx.record(added('next'))
        })
        expect([await items(), await events()]).toEqual([[['next', 1]], [['next', 1]]])
        await settled()
        expect(unhandled).toEqual([])
      })

      it('writes neither row nor event when the one statement\'s connection is terminated while it runs', async () => {
        const killer = await engine.connect()
        const { uow, s, items, events } = await setUp()
        const marker = `one_statement_attack_${process.pid}_${Date.now()}`
        const slow = { sql: `INSERT INTO ${s}.items (id, n) SELECT $1::text, $2::int FROM pg_sleep(60) /* ${marker} */`, params: ['slow', 1] }
        const running = uow.run(async (tx) => {
          tx.write(slow)
          tx.record(added('slow'))
        })
        const outcome = running.then(
          () => 'committed',
          (error: unknown) => error,
        )
        await eventually(
          async () => (await killer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, [marker])).rowCount,
          (count) => count > 0,
          { what: 'the one statement running' },
        )
        expect(await outcome).toBeInstanceOf(Error)
        expect([await items(), await events()]).toEqual([[], []])
        const { uow: next, item } = await setUp()
        await next.run(async (tx) => {
          tx.write(item('after', 1))
          tx.record(added('after'))
        })
      })
    }
  })
}
