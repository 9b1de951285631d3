import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { BrokerUnavailable, comparePositions, event, isWatermark, parsePosition, partitionOf, START, uuidv7, type Envelope, type PartitionReader, type Publisher, type Transport } from '@tidings/core'
import { FeedSignals, OutboxFeed, PartitionedSubscription, Relay, schemaName, UnitOfWork, type Database } from '@tidings/postgres'
import { testEngines, type TestEngine } from '../engines'
import { serverInstalled } from '../servers/installed'
import type { ThrowawayServer } from '../servers/throwaway-server'
import { eventually } from '../eventually'
import { createLedgerTables, ledgerConsumer, ledgerTotals, outOfOrderKeys } from '../ledger-projection'

/** A transport for one test, and the broker behind it when the test may kill and restart it. */
export interface TransportFixture {
  transport: Transport
  broker?: { kill(): Promise<void>; restart(): Promise<void> }
  close(): Promise<void>
}

const fast = { leaseTtlMs: 1_500, pollIntervalMs: 100 }
const WAIT = { timeoutMs: 30_000 }

/**
 * What every transport must do, from an outbox through the relay to consumers reading partitions by
 * their own offsets: deliver every event, each key's events in order in one partition, read from any
 * offset, apply a re-published event once, keep per-key order with competing consumers, survive a broker
 * restart mid-stream, and hand what a consumer did not commit to the next one.
 */
export function transportContract(
  name: string,
  engine: TestEngine,
  /** `ownBroker`: the test kills and restarts the broker, so it needs one nobody else uses. */
  open: (feeds: OutboxFeed[], needs: { ownBroker: boolean }) => Promise<TransportFixture>,
  options: {
    brokerRestart: boolean
    /** Whether the broker drops a message whose id it has stored (undefined: there is no broker). */
    dropsRepeats?: boolean
    /**
     * Removes the last `count` messages of a partition, as a broker that lost what it had confirmed (for a
     * broker whose relay publishes them again: `Publisher.storedUpTo`).
     */
    loseTail?: (source: string, partition: number, count: number) => Promise<void>
  },
): void {
  describe(`the ${name} transport on ${engine.name}`, () => {
    const cleanups: Array<() => Promise<unknown>> = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })

    async function setup(needs = { ownBroker: false }) {
      const db = await engine.db()
      const schema = await engine.freshSchema('transport')
      const source = `test.t${uuidv7().replace(/-/g, '').slice(-10)}`
      const signals = new FeedSignals()
      const uow = new UnitOfWork({ db, schema, source, signals })
      const feed = new OutboxFeed(db, schema, source, signals)
      const fixture = await open([feed], needs)
      cleanups.push(() => fixture.close())
      const { transport } = fixture
      await transport.declare(source)
      const versions = new Map<string, number>()
      /** Deposits over `keys` accounts, ten per transaction, each account's versions counting up. */
      const write = async (n: number, keys = 13) => {
        for (let i = 0; i < n; i += 10) {
          await uow.run(async (tx) => {
            for (let j = i; j < Math.min(i + 10, n); j++) {
              const key = `acct-${(versions.size + j) % keys}`
              const version = (versions.get(key) ?? 0) + 1
              versions.set(key, version)
              tx.record(event('test.Deposited.v1', key, { account: key, amount: 1 }, version))
            }
          })
        }
      }
      const relay = (instanceId?: string, publisher = transport.publisher()) => {
        const r = new Relay({ db, feed, publisher, batchSize: 50, ...fast, ...(instanceId ? { instanceId } : {}) })
        cleanups.push(() => r.stop())
        r.start()
        return r
      }
      const readers = (consumer: string): PartitionReader[] => {
        const all = Array.from({ length: transport.partitions }, (_, p) => transport.partition(source, p, consumer))
        cleanups.push(() => Promise.all(all.map((r) => r.close())))
        return all
      }
      /** Every partition read from the start until `count` events (watermarks aside) arrived in all. */
      const readAll = async (count: number): Promise<Envelope[][]> => {
        const parts = readers(`reader-${uuidv7()}`)
        const got: Envelope[][] = parts.map(() => [])
        const after = parts.map(() => START as string)
        const deadline = Date.now() + WAIT.timeoutMs
        while (got.flat().length < count && Date.now() < deadline) {
          for (const [p, reader] of parts.entries()) {
            const page = await reader.read(after[p]!, 100, { waitMs: 100 })
            got[p]!.push(...page.items.filter((e) => !isWatermark(e)))
            after[p] = page.next
          }
        }
        return got
      }
      /** Consumers of every partition with the ledger read model, as one instance (one lease per partition). */
      const ledger = await (async () => {
        await createLedgerTables(db, schema)
        return (instanceId: string, options: { unavailableWhen?: (e: Envelope) => boolean } = {}) => {
          const consumer = ledgerConsumer(schema, { follows: [source], ...options })
          const instance = new PartitionedSubscription({ db, schema, consumer, transport, instanceId, retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...fast })
          instance.start()
          cleanups.push(() => instance.stop())
          return { instance, subscriptions: instance.parts, stop: () => instance.stop() }
        }
      })()
      return { db, schema, source, transport, fixture, write, relay, readers, readAll, ledger }
    }

    async function lastPosition(db: Database, schema: string): Promise<string> {
      const result = await db.query<{ position: string }>(`SELECT feed_xid::text || '-' || seq::text AS position FROM ${schemaName(schema)}.outbox ORDER BY feed_xid DESC, seq DESC LIMIT 1`)
      return result.rows[0]!.position
    }

    async function outboxIds(db: Database, schema: string, upTo?: string): Promise<string[]> {
      const { xid, seq } = parsePosition(upTo ?? '0')
      const result = await db.query<{ id: string }>(
        `SELECT id::text AS id FROM ${schemaName(schema)}.outbox WHERE $1 OR (feed_xid, seq) <= ($2::text::xid8, $3::bigint) ORDER BY feed_xid, seq`,
        [upTo === undefined, xid.toString(), seq.toString()],
      )
      return result.rows.map((r) => r.id)
    }

    async function appliedIds(db: Database, schema: string): Promise<Set<string>> {
      return new Set((await db.query<{ message_id: string }>(`SELECT message_id FROM ${schemaName(schema)}.applied`)).rows.map((r) => r.message_id))
    }

    it('delivers every relayed event once, each key in its own partition, in version order', async () => {
      const { db, schema, transport, write, relay, readAll } = await setup()
      await write(200)
      relay()
      const parts = await readAll(200)
      const all = parts.flat()
      expect(all.map((e) => e.id).sort()).toEqual((await outboxIds(db, schema)).sort())
      for (const [p, items] of parts.entries()) {
        for (const e of items) expect(partitionOf(e.key, transport.partitions)).toBe(p)
        const byKey = new Map<string, Array<number | undefined>>()
        for (const e of items) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.version])
        for (const [key, versions] of byKey) expect(versions, key).toEqual(versions.map((_, i) => i + 1))
      }
    })

    it('reads a partition from any offset, and waits for what comes next', async () => {
      const { transport, write, relay, readers, source } = await setup()
      await write(40, 1) // one key: one partition holds all of it
      relay()
      const p = partitionOf('acct-0', transport.partitions)
      const reader = readers('offsets')[p]!
      const first = await eventually(() => reader.read(START, 5), (page) => page.items.length === 5, WAIT)
      expect(first.items.map((e) => e.version)).toEqual([1, 2, 3, 4, 5])
      expect(first.next).toBe(first.items[4]!.position)
      const rest = await eventually(() => reader.read(first.next, 100), (page) => page.items.length === 35, WAIT)
      expect(rest.items.map((e) => e.version)).toEqual(Array.from({ length: 35 }, (_, i) => i + 6))
      expect(rest.items.every((e) => e.source === source)).toBe(true)
      expect((await reader.lag(rest.next)).events).toBe(0)
      expect((await reader.lag(first.next)).events).toBe(35)
      // An empty read waits: the next event written arrives within the same call.
      const waiting = reader.read(rest.next, 10, { waitMs: 20_000 })
      await write(1, 1)
      const next = await waiting
      expect(next.items.map((e) => e.version)).toEqual([41])
    })

    it('tells how far a source is applied in producer positions, across instances: all events up to there are applied', async () => {
      const { db, schema, source, write, relay, ledger } = await setup()
      relay()
      const instances = [ledger('progress-a'), ledger('progress-b')]
      let writing = true
      const written = write(200).finally(() => (writing = false))
      let checks = 0
      // Whatever an instance says has been applied (some partitions by itself, some by the other) is applied.
      while (writing || checks < 3) {
        for (const { instance } of instances) {
          const reached = await instance.processedPosition(source)
          const applied = await appliedIds(db, schema)
          const missing = (await outboxIds(db, schema, reached)).filter((id) => !applied.has(id))
          expect(missing, `applied up to ${reached}`).toEqual([])
          checks++
        }
      }
      await written
      // And both come to say the whole source is applied: the partitions that did not get the last event
      // reach it by the relay's watermarks.
      const last = await lastPosition(db, schema)
      for (const { instance } of instances) {
        await eventually(() => instance.processedPosition(source), (p) => comparePositions(p, last) === 0, WAIT)
        expect(await instance.hasProcessed(source, last)).toBe(true)
      }
      expect(await ledgerTotals(db, schema)).toEqual({ count: 200, sum: 200, distinct: 200 })
    })

    it('applies an event the relay published twice once (a relay that crashed before saving its progress)', async () => {
      const { db, schema, write, relay, ledger } = await setup()
      await write(100)
      const first = relay('relay-1')
      const last = await lastPosition(db, schema)
      await eventually(() => first.publishedPosition(), (p) => p === last, WAIT)
      await first.stop()
      // Forget the saved progress: the next relay publishes everything again.
      await db.query(`DELETE FROM ${schemaName(schema)}.relay_progress`)
      relay('relay-2')
      const instance = ledger('consumer-a')
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 100, WAIT)
      await eventually(async () => (await Promise.all(instance.subscriptions.map((s) => s.lag()))).every((lags) => Object.values(lags).every((l) => l.events === 0)), Boolean, WAIT)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 100, sum: 100, distinct: 100 })
    })

    it('keeps per-key order with competing consumers, one active per partition, as instances come and go', async () => {
      const { db, schema, write, relay, ledger } = await setup()
      relay()
      const a = ledger('instance-a')
      const b = ledger('instance-b')
      await write(150)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count >= 50, WAIT)
      await a.stop() // instance a leaves: b takes its partitions over
      await write(150)
      const c = ledger('instance-c')
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 300, WAIT)
      await b.stop() // and b leaves too: c has everything
      await write(50)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 350, WAIT)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 350, sum: 350, distinct: 350 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
      expect(c.subscriptions.every((s) => s.isActive())).toBe(true)
    })

    it('spreads the partitions over the instances: each leads its fair share, and a leaving one is covered', async () => {
      const { db, schema, transport, write, relay, ledger } = await setup()
      relay()
      const total = transport.partitions
      const a = ledger('share-a')
      await eventually(async () => a.instance.leading(), (n) => n === total, WAIT)
      const b = ledger('share-b')
      const shares = async () => [a.instance.leading(), b.instance.leading()]
      await eventually(shares, ([x, y]) => x! + y! === total && Math.max(x!, y!) <= Math.ceil(total / 2), WAIT)
      const c = ledger('share-c')
      await eventually(async () => [...(await shares()), c.instance.leading()], (n) => n.reduce((x, y) => x + y) === total && Math.max(...n) <= Math.ceil(total / 3), WAIT)
      await write(90)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 90, WAIT)
      const before = { taken: c.instance.activations(), leading: c.instance.leading() }
      await a.stop()
      await b.stop()
      await eventually(async () => c.instance.leading(), (n) => n === total, WAIT)
      // Every partition taken over counts as an activation: what c cached before may hold what a and b changed.
      expect(c.instance.activations() - before.taken).toBeGreaterThanOrEqual(total - before.leading)
      await write(30)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 120, WAIT)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 120, sum: 120, distinct: 120 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
    })

    it('hands what a consumer did not commit to the next one (a crash before acknowledging)', async () => {
      const { db, schema, write, relay, ledger } = await setup()
      await write(60)
      relay()
      // The first instance fails every transaction after its 20th message (as if its database went away):
      // nothing after that commits, so nothing after that is acknowledged.
      let delivered = 0
      const crashing = ledger('crashing', { unavailableWhen: () => ++delivered > 20 })
      await eventually(async () => delivered, (n) => n > 40, WAIT) // delivered, tried, never committed past the 20th
      await crashing.stop()
      expect((await ledgerTotals(db, schema)).count).toBeLessThanOrEqual(20)
      ledger('successor')
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 60, WAIT)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 60, sum: 60, distinct: 60 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
    })

    if (options.dropsRepeats !== undefined) it('long-polls a partition: what is published meanwhile ends the wait, nothing ends it empty, an abort takes nothing; lag tells what is left', async () => {
      const { source, transport, readers } = await setup()
      const publisher = transport.publisher()
      cleanups.push(() => publisher.close())
      const key = 'acct-0'
      const p = partitionOf(key, transport.partitions)
      const first = deposit(source, key, 1)
      await publisher.publish(source, [first])
      const reader = readers('long-poll')[p]!
      const head = (await reader.read(START, 10)).next

      const waiting = reader.read(head, 10, { waitMs: 20_000 })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const late = deposit(source, key, 2)
      await publisher.publish(source, [late])
      const page = await waiting
      expect(page.items.map((e) => e.id)).toEqual([late.id])

      expect(await reader.read(page.next, 10, { waitMs: 200 })).toEqual({ items: [], next: page.next })
      const abort = new AbortController()
      const aborted = reader.read(page.next, 10, { waitMs: 20_000, signal: abort.signal })
      setTimeout(() => abort.abort(), 100)
      expect(await aborted).toEqual({ items: [], next: page.next })
      // The abandoned wait took nothing away: the next read continues where the last page ended.
      const after = deposit(source, key, 3)
      await publisher.publish(source, [after])
      const rest = await reader.read(page.next, 10, { waitMs: 20_000 })
      expect(rest.items.map((e) => e.id)).toEqual([after.id])

      expect(await reader.lag(START)).toEqual({ events: 3, oldestUnreadAt: new Date(first.occurredAt) })
      expect(await reader.lag(head)).toEqual({ events: 2, oldestUnreadAt: new Date(late.occurredAt) })
      expect(await reader.lag(rest.next)).toEqual({ events: 0 })
      const other = readers('long-poll-other')[(p + 1) % transport.partitions]!
      if (transport.partitions > 1) expect(await other.lag(START)).toEqual({ events: 0 })
    })

    if (options.dropsRepeats !== undefined) it('stores overlapping publishes in the order they were made (a relay sends a page while one awaits its confirms)', async () => {
      const { source, transport, readAll } = await setup()
      const publisher = transport.publisher()
      cleanups.push(() => publisher.close())
      const keys = ['acct-0', 'acct-1', 'acct-2']
      const batches = Array.from({ length: 4 }, (_, b) =>
        Array.from({ length: 150 }, (_, i) => {
          const n = b * 150 + i
          return deposit(source, keys[n % keys.length]!, Math.floor(n / keys.length) + 1, n + 1)
        }),
      )
      await Promise.all(batches.map((batch) => publisher.publish(source, batch)))
      const stored = (await readAll(600)).flat()
      for (const key of keys) {
        expect(stored.filter((e) => e.key === key).map((e) => e.id)).toEqual(batches.flat().filter((e) => e.key === key).map((e) => e.id))
      }
    })

    if (options.dropsRepeats === true) it('stores a message published again once: the broker drops the repeat by its id', async () => {
      const { source, transport, readAll } = await setup()
      const publisher = transport.publisher()
      expect(publisher.deduplicates).toBe(true)
      const deposits = [1, 2, 3].map((version) => deposit(source, 'acct-0', version))
      await publisher.publish(source, deposits.slice(0, 2))
      await publisher.publish(source, deposits) // a relay that crashed before saving its progress
      const parts = await readAll(3)
      expect(parts.flat().map((e) => e.id)).toEqual(deposits.map((e) => e.id))
    })

    if (options.dropsRepeats === false) it('keeps per-key order where the broker stored a batch with a hole, and applies the repeat', async () => {
      const { db, schema, transport, write, relay, ledger } = await setup()
      expect(transport.publisher().deduplicates).toBe(false)
      ledger('steady')
      await write(50)
      const first = relay('relay-1')
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 50, WAIT)
      await first.stop()
      // Three batches each lose one event while the later ones of its key are stored (as RabbitMQ does when
      // it nacks a message while a stream recovers); the relay publishes each batch again.
      await write(150) // before the relay starts: its pages of 50 hold each key several times
      const holed = withHoles(transport.publisher(), 3)
      relay('relay-2', holed)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 200, WAIT)
      expect(holed.punched).toBe(3)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 200, sum: 200, distinct: 200 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
    })

    const { loseTail } = options
    if (loseTail) it('publishes again what the broker lost after confirming it (a crash before its disk had it)', async () => {
      const { db, schema, source, transport, write, relay, ledger } = await setup()
      await write(60)
      const first = relay('relay-1')
      const last = await lastPosition(db, schema)
      await eventually(() => first.publishedPosition(), (p) => p === last, WAIT)
      await first.stop()
      // The broker comes back without the last messages of one partition, the relay's progress past them.
      await loseTail(source, partitionOf('acct-0', transport.partitions), 5)
      ledger('after-loss')
      relay('relay-2')
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 60, WAIT)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 60, sum: 60, distinct: 60 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
    })

    // Only where there is a broker the test can kill (a throwaway server); the embedded default has none.
    if (options.brokerRestart) it('loses nothing when the broker restarts mid-stream', async () => {
      const { db, schema, write, relay, ledger, fixture } = await setup({ ownBroker: true })
      if (!fixture.broker) throw new Error(`the ${name} fixture has no broker to restart`)
      relay()
      ledger('steady')
      await write(100)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count >= 30, WAIT)
      await fixture.broker.kill()
      await write(100) // the outbox takes them; the relay and the consumers retry until the broker is back
      await fixture.broker.restart()
      await write(100)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 300, { timeoutMs: 60_000 })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 300, sum: 300, distinct: 300 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
    })
  })
}

/** A deposit published straight to a broker (no outbox): the `n`th, at producer position `1-<n>`, occurred at ms n. */
function deposit(source: string, key: string, version: number, n = version): Envelope {
  return {
    ...{ id: uuidv7(), type: 'test.Deposited.v1', source, key, version, position: `1-${n}` },
    ...{ occurredAt: new Date(Date.UTC(2026, 10, 30, 12, 0, 0, n)).toISOString(), data: { account: key, amount: 1 }, meta: {} },
  }
}

/**
 * A broker that stores `holes` batches with a hole: it refuses an event, stores every one after it — the
 * later events of its key among them — and fails the batch, so the relay publishes it again.
 */
function withHoles(inner: Publisher, holes: number): Publisher & { punched: number } {
  return {
    partitions: inner.partitions,
    deduplicates: inner.deduplicates,
    punched: 0,
    async publish(source, events) {
      const hole = events.find((e, i) => !isWatermark(e) && events.slice(i + 1).some((later) => later.key === e.key))
      if (this.punched === holes || !hole) return inner.publish(source, events)
      this.punched++
      await inner.publish(source, events.filter((e) => e !== hole))
      throw new BrokerUnavailable('test broker', 'publish', `refused ${hole.id}, stored the rest`)
    },
    close: () => inner.close(),
  }
}

/**
 * The suite for a broker's transport on every engine, on throwaway servers: one shared by the tests of
 * the file (each test has sources of its own), and one of its own for a test that kills and restarts the
 * broker. Skipped (and said so) where the server program is not installed, except in CI.
 */
export async function brokerTransportContract(
  name: string,
  command: string,
  start: () => Promise<ThrowawayServer & { url: string }>,
  connect: (url: string) => Promise<Transport>,
  broker: { dropsRepeats: boolean; loseTail?: (url: string, source: string, partition: number, count: number) => Promise<void> },
): Promise<void> {
  if (!serverInstalled(command)) return
  let shared: Promise<ThrowawayServer & { url: string }> | undefined
  afterAll(async () => {
    await (await shared?.catch(() => undefined))?.cleanup()
  })
  for (const engine of await testEngines()) {
    transportContract(
      name,
      engine,
      async (_feeds, { ownBroker }) => {
        const server = ownBroker ? await start() : await (shared ??= start())
        const transport = await connect(server.url)
        return {
          transport,
          ...(ownBroker ? { broker: { kill: () => server.kill(), restart: () => server.restart() } } : {}),
          close: async () => {
            await transport.close()
            if (ownBroker) await server.cleanup()
          },
        }
      },
      {
        brokerRestart: true,
        dropsRepeats: broker.dropsRepeats,
        ...(broker.loseTail ? { loseTail: async (source: string, partition: number, count: number) => broker.loseTail!((await shared!).url, source, partition, count) } : {}),
      },
    )
  }
}
