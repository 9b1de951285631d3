import { afterEach, describe, expect, it } from 'vitest'
import { comparePositions, event, parseEnvelope, uuidv7, type ConsumerDefinition, type FeedReader, type PartitionReader, type Position, type Transport } from '@tidings/core'
import {
  FeedSignals,
  listDeadLetters,
  OutboxFeed,
  PartitionedSubscription,
  Relay,
  schemaName,
  Subscription,
  UnitOfWork,
  type Follower,
  type Queryable,
} from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { eventually } from '../eventually'

/** How the consumer reads the two feeds: straight from the producers' outboxes, or from a transport's partitions. */
export type CausalDelivery =
  | { kind: 'feeds'; mode?: 'inline' | 'deferred' }
  | { kind: 'transport'; name: string; open(feeds: OutboxFeed[]): Promise<{ transport: Transport; close(): Promise<void> }> }

/** The transport, with the partitions of `source` behind the gate. */
function gatedTransport(transport: Transport, source: string, gate: Gate): Transport {
  const partition = (named: string, p: number, consumer: string): PartitionReader => {
    const reader = transport.partition(named, p, consumer)
    return named === source ? gate.wrap(reader) : reader
  }
  return Object.assign(Object.create(transport) as Transport, { partition })
}

/** A feed that delivers nothing while its gate is shut: the dependency's events are late, as behind a stalled relay. */
class Gate {
  open = false
  wrap<R extends FeedReader>(reader: R): R {
    const read: FeedReader['read'] = async (after, limit, options) => {
      if (this.open) return reader.read(after, limit, options)
      await new Promise((resolve) => setTimeout(resolve, Math.min(options?.waitMs ?? 0, 50)))
      return { items: [], next: after }
    }
    return Object.assign(Object.create(reader) as R, { read })
  }
}

/**
 * A position no test server reaches: the shared PostgreSQL's transaction ids passed 999,999 (once used here)
 * after a day of benches, and the "never" came.
 */
const NEVER = '999999999999-1'
const fast = { leaseTtlMs: 1_500, pollIntervalMs: 50, retry: { baseDelayMs: 5, maxDelayMs: 50 } }

/**
 * Causal order across feeds (`meta.after`): the article's case of a "completed" event that reaches a
 * consumer before the attribute events it depends on, published on another feed. The consumer holds it
 * (other keys go on), applies it once the attributes are applied, and so never looks them up too early.
 */
export function causalOrderContract(engine: TestEngine, delivery: CausalDelivery): void {
  const label = delivery.kind === 'feeds' ? `read from the feeds (${delivery.mode ?? 'inline'})` : `read from the ${delivery.name} transport`
  describe(`causal order across feeds on ${engine.name}, ${label}`, () => {
    const cleanups: Array<() => Promise<unknown>> = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })

    async function setup(options: { holdLimitMs?: number; attributeMs?: number } = {}) {
      const db = await engine.db()
      const tag = uuidv7().replace(/-/g, '').slice(-10)
      const attr = `test.attr${tag}`
      const main = `test.main${tag}`
      const [attrSchema, mainSchema, schema] = [await engine.freshSchema('attr'), await engine.freshSchema('main'), await engine.freshSchema('catalog')]
      const s = schemaName(schema)
      await db.query(`CREATE TABLE ${s}.attributes (item text NOT NULL, name text NOT NULL)`)
      await db.query(`CREATE TABLE ${s}.seen (seq serial PRIMARY KEY, message_id text UNIQUE NOT NULL, type text NOT NULL, item text NOT NULL, attributes int NOT NULL, expected int)`)
      const signals = new FeedSignals()
      const attrs = new UnitOfWork({ db, schema: attrSchema, source: attr, signals })
      const mains = new UnitOfWork({ db, schema: mainSchema, source: main, signals })
      const feeds = [new OutboxFeed(db, attrSchema, attr, signals), new OutboxFeed(db, mainSchema, main, signals)]

      const consumer: ConsumerDefinition<Queryable> = {
        name: 'catalog',
        follows: [attr, main],
        ...(delivery.kind === 'feeds' && delivery.mode ? { mode: delivery.mode } : {}),
        ...(options.holdLimitMs !== undefined ? { holdLimitMs: options.holdLimitMs } : {}),
        async handle(tx, message) {
          const data = message.data as { item: string; name?: string; expected?: number }
          if (message.type === 'test.AttributeSaved') {
            if (options.attributeMs) await new Promise((resolve) => setTimeout(resolve, options.attributeMs))
            await tx.query(`INSERT INTO ${s}.attributes (item, name) VALUES ($1, $2)`, [data.item, data.name])
            return
          }
          // What a consumer of "completed" does at once: look the attributes up.
          const found = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.attributes WHERE item = $1`, [data.item])
          await tx.query(`INSERT INTO ${s}.seen (message_id, type, item, attributes, expected) VALUES ($1, $2, $3, $4, $5)`, [
            message.id,
            message.type,
            data.item,
            found.rows[0]!.n,
            data.expected ?? null,
          ])
        },
      }

      const gate = new Gate()
      const transport = delivery.kind === 'transport' ? await delivery.open(feeds) : undefined
      if (transport) cleanups.push(() => transport.close())
      const relays = transport ? feeds.map((feed) => new Relay({ db, feed, publisher: transport.transport.publisher(), batchSize: 50, ...fast })) : []
      if (transport) {
        for (const source of [attr, main]) await transport.transport.declare(source)
        relays[1]!.start() // the main feed's relay runs; the attributes' waits for the gate
        cleanups.push(() => Promise.all(relays.map((r) => r.stop())))
      }

      const follow = (): Follower => {
        const follower: Follower = transport
          ? new PartitionedSubscription({ db, schema, consumer, transport: gatedTransport(transport.transport, attr, gate), ...fast })
          : new Subscription({ db, schema, consumer, feeds: [gate.wrap(feeds[0]!), feeds[1]!], ...fast })
        follower.start()
        cleanups.push(() => follower.stop())
        return follower
      }
      const release = () => {
        gate.open = true
        relays[0]?.start()
      }

      const saveAttributes = async (item: string, count: number) =>
        (await attrs.run(async (tx) => {
          for (let n = 0; n < count; n++) tx.record(event('test.AttributeSaved', item, { item, name: `attr-${n}` }))
        })).token!
      const onMain = async (type: string, item: string, expected?: number, after: Array<string | { source: string; position: Position }> = []) =>
        (await mains.run(async (tx) => {
          tx.dependsOn(...after)
          tx.record(event(type, item, { item, ...(expected === undefined ? {} : { expected }) }))
        })).token!

      const seen = async () =>
        (await db.query<{ message_id: string; type: string; item: string; attributes: number; expected: number | null }>(`SELECT message_id, type, item, attributes, expected FROM ${s}.seen ORDER BY seq`)).rows
      const deadLetters = () => listDeadLetters(db, schema, 'catalog')
      return { db, schema, attr, main, mains, follow, release, saveAttributes, onMain, seen, deadLetters }
    }
    const deferred = delivery.kind === 'feeds' && delivery.mode === 'deferred'
    /** Reading the feeds, a lane is a whole feed, applied in order (a transport's lanes are its partitions). */
    const wholeFeeds = delivery.kind === 'feeds'

    it('holds 101 "completed" events until the attributes they name are applied; other keys go on, each key waits behind its held event, a takeover keeps them', async () => {
      const { attr, main, follow, release, saveAttributes, onMain, seen } = await setup()
      let follower = follow()
      // More held keys than the worker looks at in one pass (100): those still waiting must not hide the rest.
      const items = Array.from({ length: 101 }, (_, i) => `item-${i}`)
      const completed: Position[] = []
      let saved = { source: attr, position: '0' }
      for (const item of items) {
        saved = await saveAttributes(item, 3)
        completed.push((await onMain('test.Completed', item, 3, [saved])).position)
        await onMain('test.Archived', item) // same key, no dependency of its own: it must wait behind Completed
      }
      const free = await onMain('test.Noted', 'other-item')
      const elsewhere = await onMain('test.Completed', 'unfollowed-item', 0, ['some.other.feed@99-1'])

      // Keys without a dependency (or one on a feed the consumer does not follow) are applied meanwhile.
      await eventually(seen, (rows) => rows.length === 2, { what: 'the events that wait for nothing' })
      expect((await seen()).map((r) => r.item).sort()).toEqual(['other-item', 'unfollowed-item'])
      // Its progress stops before the first held event: a consistency wait for it does not return early.
      expect(await follower.hasProcessed(main, completed[0]!)).toBe(false)
      expect(await follower.hasProcessed(main, elsewhere.position)).toBe(false)
      expect(comparePositions(await follower.processedPosition(main), free.position)).toBeLessThan(0)

      // Another instance takes over while the events are held: they are still held, then released by it.
      await follower.stop()
      follower = follow()
      await eventually(() => follower.isActive(), Boolean, { what: 'the takeover' })
      expect(await seen()).toHaveLength(2)

      release()
      await eventually(seen, (rows) => rows.length === 2 + 2 * items.length, { what: 'the held events', timeoutMs: 60_000 })
      const rows = await seen()
      for (const item of items) {
        const mine = rows.filter((r) => r.item === item)
        expect(mine.map((r) => r.type)).toEqual(['test.Completed', 'test.Archived'])
        expect(mine[0]!.attributes).toBe(3) // nothing was looked up too early
      }
      expect(new Set(rows.map((r) => r.message_id)).size).toBe(rows.length)
      await eventually(() => follower.hasProcessed(main, elsewhere.position), Boolean, { what: 'progress past the released events' })
      expect(await follower.hasProcessed(attr, saved.position)).toBe(true)
    })

    it("holds a key's later event behind its held one when the two fall in different chunks of one page", async () => {
      const { follow, release, saveAttributes, onMain, seen } = await setup()
      const saved = await saveAttributes('item-k', 3)
      await onMain('test.Completed', 'item-k', 3, [saved])
      for (let i = 0; i < 9; i++) await onMain('test.Noted', `filler-${i}`) // a page's chunks are 10 messages
      await onMain('test.Archived', 'item-k')
      follow()
      await eventually(seen, (rows) => rows.length === 9, { what: 'the fillers' })
      release()
      await eventually(seen, (rows) => rows.length === 11, { what: 'the key', timeoutMs: 30_000 })
      expect((await seen()).filter((r) => r.item === 'item-k').map((r) => [r.type, r.attributes])).toEqual([['test.Completed', 3], ['test.Archived', 3]])
    })

    it('lets a key whose dependency arrived go on while 100 others wait for a position that never comes', async () => {
      const { attr, follow, release, saveAttributes, onMain, seen } = await setup()
      follow()
      for (let i = 0; i < 100; i++) await onMain('test.Completed', `stuck-${i}`, 1, [`${attr}@${NEVER}`])
      const saved = await saveAttributes('item-z', 1)
      await onMain('test.Completed', 'item-z', 1, [saved])
      release()
      const rows = await eventually(seen, (all) => all.some((r) => r.item === 'item-z'), { what: 'the key whose attributes arrived', timeoutMs: 30_000 })
      expect(rows.map((r) => [r.item, r.attributes])).toEqual([['item-z', 1]])
    })

    if (deferred) it("counts the hold limit from when an event waits, not from when it entered the consumer's backlog", async () => {
      const { follow, release, saveAttributes, onMain, seen, deadLetters } = await setup({ holdLimitMs: 1_000, attributeMs: 50 })
      release()
      const saved = await saveAttributes('item-b', 40) // two seconds of the consumer's own backlog
      await onMain('test.Completed', 'item-b', 40, [saved])
      follow()
      await eventually(seen, (rows) => rows.length === 1, { what: 'the completed event', timeoutMs: 30_000 })
      expect((await seen())[0]!.attributes).toBe(40)
      expect(await deadLetters()).toEqual([])
    })

    if (wholeFeeds) it('does not hold an event for an earlier position of its own feed (a session naming the same feed)', async () => {
      const { db, schema, follow, release, onMain, seen } = await setup()
      release()
      const first = await onMain('test.Noted', 'a')
      await onMain('test.Completed', 'b', 0, [first])
      await onMain('test.Archived', 'b')
      follow()
      await eventually(seen, (rows) => rows.length === 3, { what: 'all three' })
      const held = await db.query(`SELECT message_id FROM ${schemaName(schema)}.inbox WHERE consumer = 'catalog' AND held_since IS NOT NULL`)
      expect(held.rows).toEqual([])
    })

    if (wholeFeeds) it('dead-letters at once an event that names its own feed at or after itself, and the feed goes on', async () => {
      const { main, follow, release, onMain, seen, deadLetters } = await setup()
      release()
      const follower = follow()
      const before = await onMain('test.Noted', 'x')
      const next = `${main}@${BigInt(before.position.split('-')[0]!) + 1_000n}-1`
      await onMain('test.Completed', 'y', 0, [next])
      const later = await onMain('test.Noted', 'z')
      await eventually(() => follower.hasProcessed(main, later.position), Boolean, { what: 'progress past it', timeoutMs: 30_000 })
      expect((await seen()).map((r) => r.item)).toEqual(['x', 'z'])
      expect((await deadLetters()).map((l) => l.envelope.key)).toEqual(['y'])
    })

    it("stamps an event's own meta.after together with the unit of work's, one well-formed position per feed", async () => {
      const { attr, main, mains } = await setup()
      const tooMany = Array.from({ length: 20 }, (_, i) => `f${i}@1-1`)
      const { events } = await mains.run(async (tx) => {
        tx.dependsOn(`${attr}@5-1`, `${attr}@4-9`, undefined)
        tx.record({ ...event('test.Completed', 'k', {}), meta: { after: [...tooMany, 'not a token', `${main}@1-1`] } })
      })
      const after = events[0]!.meta.after!
      expect(after).toHaveLength(16)
      expect(after[0]).toBe(`${attr}@5-1`)
      expect(parseEnvelope(JSON.parse(JSON.stringify(events[0]))).meta.after).toEqual(after)
    })

    it('dead-letters an event whose dependency is never applied within the hold limit, and its key goes on', async () => {
      const { db, schema, attr, main, follow, onMain, seen } = await setup({ holdLimitMs: 300 })
      const follower = follow()
      const wanting = await onMain('test.Completed', 'item-x', 3, [`${attr}@${NEVER}`])
      const after = await onMain('test.Archived', 'item-x')
      await eventually(seen, (rows) => rows.length === 1, { what: 'the key going on', timeoutMs: 30_000 })
      expect((await seen())[0]!.type).toBe('test.Archived')
      const letters = await listDeadLetters(db, schema, 'catalog')
      expect(letters.map((l) => [l.envelope.type, l.envelope.meta.sourcePosition ?? l.envelope.position])).toEqual([['test.Completed', wanting.position]])
      expect(letters[0]!.error).toMatch(/^DependencyNotReached: Held \d+ s waiting for test\.attr\w+@999999999999-1/)
      await eventually(() => follower.hasProcessed(main, after.position), Boolean, { what: 'progress past the dead letter' })
    })
  })
}
