import { describe, expect, it } from 'vitest'
import { LeaseLost, NOT_FOLLOWED, silentLogger, uuidv7, type AppliedPosition, type ConsumerDefinition, type Envelope, type Position } from '@tidings/core'
import { createLedgerTables, eventually, ledgerConsumer, ledgerTotals, outOfOrderKeys, testEngines, type TestEngine } from '@tidings/testing'
import type { Database, Queryable } from '../database/database'
import { Lease } from '../leadership/lease'
import { MessageProcessor } from './message-processor'
import { DeferredWorker } from './deferred-worker'
import { readCheckpoint } from './checkpoints'

/**
 * Attacks on the page transaction of d649013: the lease pinned by an advisory lock, the inbox read first
 * and written at the end with the checkpoint and the lease check, and pages committed in parts.
 */

const SOURCE = 'test.accounts'
const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }

function envelope(key: string, version: number, amount: number, position: number, meta: Envelope['meta'] = {}, id: string = uuidv7()): Envelope {
  return { id, type: 'test.Deposited.v1', source: SOURCE, key, version, position: `1-${position}`, occurredAt: new Date().toISOString(), data: { account: key, amount }, meta }
}

/** The ledger consumer, doing `then` after it handles each message (to pause, or to interfere, mid-page). */
function ledgerThen(then: (tx: Queryable, message: Envelope) => Promise<void>, extra: Partial<ConsumerDefinition<Queryable>> = {}) {
  return (schema: string): ConsumerDefinition<Queryable> => {
    const ledger = ledgerConsumer(schema)
    return {
      ...ledger,
      ...extra,
      async handle(tx, message) {
        await ledger.handle(tx, message)
        await then(tx, message)
      },
    }
  }
}

/** The ledger, stopped in the handler of one message (`pauseAt`) until `release`; `paused` resolves when it gets there. */
function pausingLedger(extra: Partial<ConsumerDefinition<Queryable>> = {}) {
  const paused = gate()
  const release = gate()
  let at: string | undefined
  return {
    consumer: ledgerThen(async (_tx, message) => {
      if (message.id !== at) return
      paused.open()
      await release.opened
    }, extra),
    pauseAt: (id: string) => void (at = id),
    paused: paused.opened,
    release: release.open,
  }
}

/** A one-shot signal one side opens and the other awaits. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

interface Rig {
  db: Database
  schema: string
  lease: Lease
  processor: MessageProcessor
}

async function rig(
  engine: TestEngine,
  options: { consumer?: (schema: string) => ConsumerDefinition<Queryable>; pageBudgetMs?: number; applied?: AppliedPosition<Queryable>; owner?: string; ttlMs?: number } = {},
): Promise<Rig> {
  const db = await engine.db()
  const schema = await engine.freshSchema('pin')
  await createLedgerTables(db, schema)
  const lease = new Lease(db, schema, 'subscription:ledger', options.owner ?? 'leader', options.ttlMs ?? 60_000)
  expect(await lease.acquire()).toBe(true)
  const processor = processorUnder(db, schema, lease, options)
  return { db, schema, lease, processor }
}

/** A processor of the consumer (the ledger by default) on `db`, working under `lease`. */
function processorUnder(
  db: Database,
  schema: string,
  lease: Lease,
  options: { consumer?: (schema: string) => ConsumerDefinition<Queryable>; pageBudgetMs?: number; applied?: AppliedPosition<Queryable> } = {},
): MessageProcessor {
  return new MessageProcessor({
    db,
    schema,
    consumer: (options.consumer ?? ledgerConsumer)(schema),
    lease,
    retry: fastRetry,
    observer: {},
    logger: silentLogger,
    pageBudgetMs: options.pageBudgetMs ?? 60_000,
    applied: options.applied ?? (async () => NOT_FOLLOWED),
  })
}

async function inboxRows(db: Queryable, schema: string): Promise<Array<{ message_id: string; status: string }>> {
  const { rows } = await db.query<{ message_id: string; status: string }>(`SELECT message_id, status FROM "${schema}".inbox ORDER BY seq`)
  return rows
}

/** PostgreSQL only: how many advisory lock requests wait now. */
async function waitingAdvisory(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)
  return Number(rows[0]!.n)
}

for (const engine of await testEngines()) {
  describe(`page pin attacks on ${engine.name}`, () => {
    it('a message twice in one chunk, in two chunks and in two parts of a page is applied once; every part reports what it committed', async () => {
      // A budget of 0 ms: every transaction takes exactly one chunk (10 messages for a one-by-one consumer).
      const { db, schema, processor } = await rig(engine, { pageBudgetMs: 0 })
      const twice = uuidv7()
      const again = uuidv7()
      const items: Envelope[] = []
      for (let i = 1; i <= 25; i++) items.push(envelope(`k${i % 3}`, i, i, i))
      items[1] = envelope('dup', 1, 1000, 2, {}, twice) // chunk 1
      items[3] = envelope('dup', 1, 1000, 4, {}, twice) // chunk 1 again
      items[12] = envelope('dup', 1, 1000, 13, {}, twice) // chunk 2: the second transaction
      items[21] = envelope('dup', 1, 1000, 22, {}, twice) // chunk 3: the third
      items[14] = envelope('again', 1, 500, 15, {}, again) // chunk 2
      items[16] = envelope('again', 1, 500, 17, {}, again) // chunk 2 again
      const parts: Array<[Position, number]> = []
      const last = await processor.processPage(SOURCE, items, new AbortController().signal, (position, applied) => parts.push([position, applied]))
      expect(last).toBe('1-25')
      expect(parts).toEqual([
        ['1-10', 10],
        ['1-20', 10],
        ['1-25', 5],
      ])
      const distinctIds = new Set(items.map((m) => m.id))
      const expectedSum = [...distinctIds].reduce((sum, id) => sum + (items.find((m) => m.id === id)!.data as { amount: number }).amount, 0)
      expect(await ledgerTotals(db, schema)).toEqual({ count: distinctIds.size, sum: expectedSum, distinct: distinctIds.size })
      expect(await inboxRows(db, schema)).toHaveLength(distinctIds.size)
      expect(await readCheckpoint(db, schema, 'ledger', SOURCE)).toBe('1-25')
      // The same page delivered again changes nothing.
      await processor.processPage(SOURCE, items, new AbortController().signal)
      expect(await ledgerTotals(db, schema)).toEqual({ count: distinctIds.size, sum: expectedSum, distinct: distinctIds.size })
    })

    it('a message held for another feed holds the later messages of its key in the next part of the page, and they are released in order', async () => {
      let otherApplied: Position = '0'
      const applied: AppliedPosition<Queryable> = async (source) => (source === 'test.other' ? otherApplied : NOT_FOLLOWED)
      const { db, schema, processor, lease } = await rig(engine, { pageBudgetMs: 0, applied })
      const items: Envelope[] = []
      for (let i = 1; i <= 30; i++) items.push(envelope(`free${i % 2}`, i, 1, i))
      // Part 1 (positions 1..10): k@1 waits for test.other@1-5. Part 2 and 3: later versions of k, naming nothing.
      items[4] = envelope('k', 1, 100, 5, { after: ['test.other@1-5'] })
      items[14] = envelope('k', 2, 100, 15)
      items[25] = envelope('k', 3, 100, 26)
      await processor.processPage(SOURCE, items, new AbortController().signal)
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 27 })
      const pending = await db.query<{ key: string }>(`SELECT key FROM "${schema}".inbox WHERE status = 'pending' ORDER BY seq`)
      expect(pending.rows.map((r) => r.key)).toEqual(['k', 'k', 'k'])
      // test.other gets there: the worker releases k's messages in their order.
      otherApplied = '1-9'
      const worker = new DeferredWorker(
        { db, schema, consumer: ledgerConsumer(schema), lease, retry: fastRetry, observer: {}, logger: silentLogger, pageBudgetMs: 60_000, applied },
        processor,
        [SOURCE],
      )
      // The worker takes the oldest pending message of a key per pass.
      await eventually(
        async () => {
          await worker.drain()
          return (await ledgerTotals(db, schema)).count
        },
        (count) => count === 30,
        { what: 'held messages released' },
      )
      expect(await ledgerTotals(db, schema)).toEqual({ count: 30, sum: 327, distinct: 30 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
    })

    it('a page of a lease that another instance took meanwhile applies nothing (LeaseLost, rolled back)', async () => {
      const { db, schema, processor } = await rig(engine)
      const items = [envelope('a', 1, 1, 1), envelope('b', 1, 2, 2)]
      await db.query(`UPDATE "${schema}".leases SET owner = 'usurper', expires_at = now() + interval '1 hour'`)
      await expect(processor.processPage(SOURCE, items, new AbortController().signal)).rejects.toBeInstanceOf(LeaseLost)
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 0 })
      expect(await inboxRows(db, schema)).toEqual([])
      expect(await readCheckpoint(db, schema, 'ledger', SOURCE)).toBe('0')
    })

    if (engine.name === 'postgres') {
      it("a rebuild's seize waits for the page in flight, which commits; the next page fails LeaseLost; no deadlock with a second page queued behind the seize", async () => {
        const pausing = pausingLedger({ lockKeys: (messages) => messages.map((m) => `acct:${m.key}`) })
        const { db, schema, processor } = await rig(engine, { consumer: pausing.consumer })
        const first = [envelope('x', 1, 1, 1), envelope('y', 1, 2, 2)]
        pausing.pauseAt(first[1]!.id)
        const page = processor.processPage(SOURCE, first, new AbortController().signal)
        await pausing.paused
        // Another process rebuilds: it seizes the lease (waits for the page's pin).
        const other = await engine.connect()
        const rebuilder = new Lease(other, schema, 'subscription:ledger', 'rebuilder', 60_000)
        let seized = false
        const rebuild = other.transaction(async (tx) => {
          await rebuilder.seize(tx)
          seized = true
          await tx.query(`DELETE FROM "${schema}".inbox`)
          await tx.query(`DELETE FROM "${schema}".checkpoints`)
          await tx.query(`DELETE FROM "${schema}".applied`)
        })
        await eventually(() => waitingAdvisory(db), (n) => n >= 1, { what: 'seize waits for the pin' })
        expect(seized).toBe(false)
        // A second page (another feed, a key the first holds) queues behind the seize.
        const second = processor.processPage('test.second', [{ ...envelope('x', 2, 10, 1), source: 'test.second' }], new AbortController().signal)
        await eventually(() => waitingAdvisory(db), (n) => n >= 2, { what: 'second page queued' })
        pausing.release()
        await expect(page).resolves.toBe('1-2')
        await rebuild
        expect(seized).toBe(true)
        await expect(second).rejects.toBeInstanceOf(LeaseLost)
        // The rebuild forgot the first page; the second applied nothing.
        expect(await ledgerTotals(db, schema)).toMatchObject({ count: 0 })
        expect(await inboxRows(db, schema)).toEqual([])
        await expect(processor.processPage(SOURCE, [envelope('z', 1, 3, 3)], new AbortController().signal)).rejects.toBeInstanceOf(LeaseLost)
      })

      it('an expired lease is not taken over while its page is in flight; that page then fails LeaseLost and the successor applies it once', async () => {
        const pausing = pausingLedger()
        const { db, schema, processor } = await rig(engine, { consumer: pausing.consumer })
        const items = [envelope('a', 1, 1, 1), envelope('b', 1, 2, 2), envelope('c', 1, 4, 3)]
        pausing.pauseAt(items[0]!.id)
        const page = processor.processPage(SOURCE, items, new AbortController().signal)
        await pausing.paused
        await db.query(`UPDATE "${schema}".leases SET expires_at = now() - interval '1 second'`)
        const other = await engine.connect()
        const successor = new Lease(other, schema, 'subscription:ledger', 'successor', 60_000)
        expect(await successor.acquire()).toBe(false)
        pausing.release()
        await expect(page).rejects.toBeInstanceOf(LeaseLost)
        expect(await ledgerTotals(db, schema)).toMatchObject({ count: 0 })
        expect(await successor.acquire()).toBe(true)
        const next = processorUnder(other, schema, successor)
        await next.processPage(SOURCE, items, new AbortController().signal)
        expect(await ledgerTotals(db, schema)).toEqual({ count: 3, sum: 7, distinct: 3 })
      })

      it('a message recorded in the inbox by another transaction while the page ran is not applied, the rest once each', async () => {
        const other = await engine.connect()
        let schemaName = ''
        let stolen: string | undefined = undefined
        let stole = false
        const { db, schema, processor } = await rig(engine, {
          consumer: ledgerThen(async () => {
            if (!stole) {
              stole = true
              await other.query(`INSERT INTO "${schemaName}".inbox (consumer, message_id, status, key) VALUES ('ledger', $1, 'done', 'x')`, [stolen])
            }
          }),
        })
        schemaName = schema
        const items = Array.from({ length: 8 }, (_, i) => envelope(`k${i % 2}`, i + 1, 1, i + 1))
        stolen = items[5]!.id
        await processor.processPage(SOURCE, items, new AbortController().signal)
        expect(await ledgerTotals(db, schema)).toEqual({ count: 7, sum: 7, distinct: 7 })
        expect(await inboxRows(db, schema)).toHaveLength(8)
        expect(await readCheckpoint(db, schema, 'ledger', SOURCE)).toBe('1-8')
      })

      it('a page whose connection dies mid-page leaves nothing behind; the pin goes with it and a successor applies the page once', async () => {
        const inHandler = gate()
        let pid = 0
        let blockOn: string | undefined = undefined
        const { db, schema, processor } = await rig(engine, {
          consumer: ledgerThen(async (tx, message) => {
            if (message.id === blockOn) {
              pid = Number((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)
              inHandler.open()
              await tx.query('SELECT pg_sleep(30)')
            }
          }),
        })
        const items = [envelope('a', 1, 1, 1), envelope('b', 1, 2, 2), envelope('c', 1, 4, 3)]
        blockOn = items[1]!.id
        const page = processor.processPage(SOURCE, items, new AbortController().signal)
        await inHandler.opened
        const other = await engine.connect()
        const successor = new Lease(other, schema, 'subscription:ledger', 'successor', 60_000)
        await other.query(`UPDATE "${schema}".leases SET expires_at = now() - interval '1 second'`)
        // Pinned by the page: not taken yet.
        expect(await successor.acquire()).toBe(false)
        await other.query('SELECT pg_terminate_backend($1)', [pid])
        await expect(page).rejects.toThrow()
        await eventually(() => successor.acquire(), Boolean, { what: 'successor takes over once the pin is gone' })
        const next = processorUnder(other, schema, successor)
        await next.processPage(SOURCE, items, new AbortController().signal)
        expect(await ledgerTotals(db, schema)).toEqual({ count: 3, sum: 7, distinct: 3 })
        expect(await readCheckpoint(db, schema, 'ledger', SOURCE)).toBe('1-3')
      })
    }
  })
}
