import { afterEach, describe, expect, it } from 'vitest'
import { event, uuidv7, MALFORMED_TYPE, type ConsumerDefinition, type Envelope, type FeedReader } from '@tidings/core'
import {
  cleanupFeed,
  FeedSignals,
  listDeadLetters,
  OutboxFeed,
  readCheckpoint,
  Subscription,
  UnitOfWork,
  type Queryable,
  type SubscriptionOptions,
} from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { eventually } from '../eventually'
import { createLedgerTables, ledgerConsumer, ledgerTotals, outOfOrderKeys } from '../ledger-projection'
import { duplicatedAndShuffled, ScriptedFeed, seededRandom } from '../scripted-feed'

const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }

/** Subscriptions, the inbox and dead letters: exactly-once effects over at-least-once delivery. */
export function subscriptionContract(engine: TestEngine): void {
  describe(`subscriptions on ${engine.name}`, () => {
    const running: Subscription[] = []
    afterEach(async () => {
      await Promise.all(running.splice(0).map((s) => s.stop()))
    })

    function subscribe(options: SubscriptionOptions): Subscription {
      const subscription = new Subscription({ pollIntervalMs: 50, leaseTtlMs: 2_000, ...options })
      running.push(subscription)
      subscription.start()
      return subscription
    }

    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('sub')
      await createLedgerTables(db, schema)
      const signals = new FeedSignals()
      const uow = new UnitOfWork({ db, schema, source: 'test.accounts', signals })
      const feed = new OutboxFeed(db, schema, 'test.accounts', signals)
      const deposit = (account: string, amount: number, version?: number) =>
        uow.run(async (tx) => tx.record(event('test.Deposited.v1', account, { account, amount }, version)))
      return { db, schema, uow, feed, deposit }
    }

    it('applies every committed event exactly once and checkpoints the feed', async () => {
      const { db, schema, feed, deposit } = await setup()
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed] })
      let last
      for (let i = 1; i <= 50; i++) last = await deposit(`a${i % 5}`, i)
      await eventually(() => subscription.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'catch-up' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 50, sum: 1275, distinct: 50 })
      expect(await readCheckpoint(db, schema, 'ledger', 'test.accounts')).toBe(last!.token!.position)
      expect(subscription.isActive()).toBe(true)
    })

    it('changes nothing when every message arrives twice in shuffled interleavings of keys, and keeps per-key order', async () => {
      for (const seed of [1, 2, 3]) {
        const { db, schema } = await setup()
        const messages: Envelope[] = []
        for (let v = 1; v <= 20; v++) {
          for (let k = 0; k < 8; k++) messages.push(envelope(`k${k}`, v, 10 * k + v))
        }
        const script = duplicatedAndShuffled(messages, seededRandom(seed))
        expect(script).toHaveLength(320)
        const feed = new ScriptedFeed('test.accounts', script)
        const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed], batchSize: 37 })
        await eventually(() => subscription.hasProcessed('test.accounts', feed.lastPosition), Boolean, { what: 'script drained' })
        const expectedSum = messages.reduce((sum, m) => sum + (m.data as { amount: number }).amount, 0)
        expect(await ledgerTotals(db, schema)).toEqual({ count: 160, sum: expectedSum, distinct: 160 })
        expect(await outOfOrderKeys(db, schema)).toEqual([])
        await subscription.stop()
      }
    })

    it('dead-letters a poison message after its attempts, moves on, and applies it once on replay after the fix', async () => {
      const { db, schema, feed, deposit } = await setup()
      let fixed = false
      const poisonAmount = 13
      const consumer = ledgerConsumer(schema, { failWhen: (e) => !fixed && (e.data as { amount: number }).amount === poisonAmount })
      const subscription = subscribe({ db, schema, consumer, feeds: [feed], retry: fastRetry })
      let last
      for (let i = 10; i <= 16; i++) last = await deposit('acct', i)
      await eventually(() => subscription.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'stream moved on' })
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 6, sum: 10 + 11 + 12 + 14 + 15 + 16 })
      const letters = await listDeadLetters(db, schema, 'ledger')
      expect(letters).toHaveLength(1)
      expect(letters[0]).toMatchObject({ consumer: 'ledger', attempts: 3 })
      expect(letters[0]!.error).toContain('poison')
      expect(letters[0]!.envelope.data).toEqual({ account: 'acct', amount: poisonAmount })

      await expect(subscription.replay(letters[0]!.id)).rejects.toThrow('poison')
      expect(await listDeadLetters(db, schema, 'ledger')).toHaveLength(1)
      fixed = true
      expect(await subscription.replay(letters[0]!.id)).toBe(true)
      expect(await subscription.replay(letters[0]!.id)).toBe(false)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 7, sum: 91, distinct: 7 })
      expect(await listDeadLetters(db, schema, 'ledger')).toEqual([])
    })

    it('sends a message that can never succeed to dead letters at once, without retries', async () => {
      const { db, schema } = await setup()
      const malformed: Envelope = { ...envelope('k', 1, 1), type: MALFORMED_TYPE, data: { reason: 'not an object', raw: 42 } }
      const feed = new ScriptedFeed('test.accounts', [envelope('k', 1, 5), malformed, envelope('k', 2, 7)])
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed], retry: { maxAttempts: 50, baseDelayMs: 1000, maxDelayMs: 1000 } })
      await eventually(() => subscription.hasProcessed('test.accounts', feed.lastPosition), Boolean, { what: 'stream moved on' })
      const letters = await listDeadLetters(db, schema, 'ledger')
      expect(letters.map((l) => [l.attempts, l.error.includes('MALFORMED') || l.error.includes('Malformed')])).toEqual([[1, true]])
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 2, sum: 12 })
    })

    it("counts a malformed message's broker offset as no producer position", async () => {
      const { db, schema } = await setup()
      // Through a broker: positions are its offsets ("1-<n>"), the producer's travel in meta. A stand-in for
      // what was not an envelope has only the offset, which is above every producer position here.
      const relayed = (key: string, amount: number, producedAt: string): Envelope => ({ ...envelope(key, 1, amount), meta: { sourcePosition: producedAt } })
      const malformed: Envelope = { ...envelope('m', 1, 1), type: MALFORMED_TYPE, data: { reason: 'not JSON', raw: '{' } }
      const feed = new ScriptedFeed('test.accounts', [relayed('a', 5, '0-10'), malformed, relayed('b', 7, '0-12')])
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed] })
      await eventually(() => readCheckpoint(db, schema, 'ledger', 'test.accounts'), (at) => at === feed.lastPosition, { what: 'stream moved on' })
      expect(await subscription.processedSourcePosition('test.accounts')).toBe('0-12')
      expect(await listDeadLetters(db, schema, 'ledger')).toHaveLength(1)
    })

    it('skips event types the consumer does not handle', async () => {
      const { db, schema, uow, feed, deposit } = await setup()
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed] })
      await uow.run(async (tx) => tx.record(event('test.SomethingElse.v9', 'x', { whatever: true })))
      const last = await deposit('a', 3)
      await eventually(() => subscription.hasProcessed('test.accounts', last.token!.position), Boolean, { what: 'catch-up' })
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 1, sum: 3 })
      expect(await listDeadLetters(db, schema)).toEqual([])
    })

    it('deferred mode stores and acknowledges first, then processes with stored retries, in key order', async () => {
      const { db, schema, feed, deposit } = await setup()
      let failures = 0
      const consumer = ledgerConsumer(schema, {
        mode: 'deferred',
        failWhen: (e) => (e.data as { amount: number }).amount === 2 && failures++ < 2,
      })
      const subscription = subscribe({ db, schema, consumer, feeds: [feed], retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 } })
      for (let v = 1; v <= 4; v++) await deposit('k', v, v)
      await deposit('other', 100)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 5, { what: 'deferred messages processed' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 5, sum: 110, distinct: 5 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
      expect(failures).toBe(3)
      const attempts = await db.query<{ attempts: number }>(`SELECT attempts FROM "${schema}".inbox WHERE status = 'done' ORDER BY attempts DESC LIMIT 1`)
      expect(attempts.rows[0]!.attempts).toBe(2)
      expect(subscription.isActive()).toBe(true)
    })

    it('deferred mode loses nothing when the process stops between acknowledging and processing', async () => {
      const { db, schema, feed, deposit } = await setup()
      const consumer = ledgerConsumer(schema, { mode: 'deferred' })
      // Acknowledge only: a subscription whose worker never gets to run stands for a crash after the ack.
      const acker = new Subscription({ db, schema, consumer: { ...consumer, handle: async () => { throw new Error('crashed') } }, feeds: [feed], pollIntervalMs: 20, retry: { maxAttempts: 1000, baseDelayMs: 60_000, maxDelayMs: 60_000 } })
      acker.start()
      let last
      for (let i = 1; i <= 5; i++) last = await deposit(`k${i}`, i)
      await eventually(() => readCheckpoint(db, schema, 'ledger', 'test.accounts'), (p) => p === last!.token!.position, { what: 'acknowledged' })
      await acker.stop()
      expect((await ledgerTotals(db, schema)).count).toBe(0)
      await db.query(`UPDATE "${schema}".inbox SET next_attempt_at = now()`)
      subscribe({ db, schema, consumer, feeds: [feed] })
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 5, { what: 'pending processed after restart' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 5, sum: 15, distinct: 5 })
    })

    it('a standby takes over when the active instance leaves; nothing lost or doubled', async () => {
      const { db, schema, feed, deposit } = await setup()
      const other = await engine.connect()
      const options = { db, schema, consumer: ledgerConsumer(schema), feeds: [feed], leaseTtlMs: 1500 }
      const first = subscribe({ ...options, instanceId: 'first' })
      await eventually(() => first.isActive(), Boolean, { what: 'first active' })
      const second = subscribe({ ...options, db: other, feeds: [new OutboxFeed(other, schema, 'test.accounts')], instanceId: 'second' })
      let last
      for (let i = 1; i <= 30; i++) last = await deposit(`k${i % 3}`, i)
      // (Which instance applied them does not matter: on a loaded machine a slow renewal may already move the lease.)
      await eventually(() => first.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'first batch applied' })
      await first.stop()
      expect(first.isActive()).toBe(false)
      for (let i = 31; i <= 60; i++) last = await deposit(`k${i % 3}`, i)
      await eventually(() => second.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'second took over' })
      expect(second.isActive()).toBe(true)
      expect(second.activations()).toBeGreaterThanOrEqual(1) // it took the lease: what it cached before may be stale
      expect(await ledgerTotals(db, schema)).toEqual({ count: 60, sum: 1830, distinct: 60 })
    })

    it('an instance that lost its lease cannot write, even before it notices', async () => {
      const { db, schema, feed, deposit } = await setup()
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed], leaseTtlMs: 60_000 })
      const first = await deposit('k', 1)
      await eventually(() => subscription.hasProcessed('test.accounts', first.token!.position), Boolean, { what: 'first applied' })
      // Another instance takes the lease (as after an expiry while this one was paused).
      await db.query(`UPDATE "${schema}".leases SET owner = 'usurper', expires_at = now() + interval '1 hour'`)
      await deposit('k', 2)
      await eventually(() => !subscription.isActive(), Boolean, { what: 'instance stepped down' })
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 1, sum: 1 })
    })

    it('rebuilds a read model by resetting the subscription and replaying the feed', async () => {
      const { db, schema, feed, deposit } = await setup()
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed] })
      let last
      for (let i = 1; i <= 20; i++) last = await deposit(`k${i % 4}`, i)
      await eventually(() => subscription.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'caught up' })
      await db.query(`UPDATE "${schema}".applied SET amount = 0`)
      await subscription.reset()
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 20 && t.sum === 210, { what: 'rebuilt' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 20, sum: 210, distinct: 20 })
    })

    it('refuses a rebuild once retention has trimmed its feed (the model unchanged), and drops its caches at once when it does rebuild', async () => {
      const { db, schema, feed, deposit } = await setup()
      let cleared = 0
      const consumer = { ...ledgerConsumer(schema), afterReset: () => void cleared++ }
      const subscription = subscribe({ db, schema, consumer, feeds: [feed] })
      let last
      for (let i = 1; i <= 6; i++) last = await deposit(`k${i % 2}`, i)
      await eventually(() => subscription.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'caught up' })
      await subscription.reset()
      expect(cleared).toBe(1)
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 6, { what: 'rebuilt' })
      // Retention deletes the two oldest events (past the retention time, applied by the live reader).
      await db.query(`UPDATE "${schema}".outbox SET occurred_at = now() - interval '30 days' WHERE (feed_xid, seq) IN (SELECT feed_xid, seq FROM "${schema}".outbox ORDER BY feed_xid, seq LIMIT 2)`)
      expect(await cleanupFeed(db, schema, { retainMs: 24 * 3600_000, readerLivenessMs: 0 })).toBe(2)
      expect(await feed.trimmedThrough()).toMatch(/^\d+-\d+$/)
      const before = await ledgerTotals(db, schema)
      await expect(subscription.reset()).rejects.toMatchObject({ code: 'REBUILD_PAST_RETENTION' })
      expect(cleared).toBe(1)
      expect(await ledgerTotals(db, schema)).toEqual(before)
      // Refused before it stopped anything: the subscription goes on applying new events.
      const more = await deposit('k9', 100)
      await eventually(() => subscription.hasProcessed('test.accounts', more.token!.position), Boolean, { what: 'still running' })
    })

    it('a rebuild loses nothing while another instance stands by, however long the consumer takes to reset', async () => {
      const { db, schema, feed, deposit } = await setup()
      const other = await engine.connect()
      const base = ledgerConsumer(schema)
      const slowReset: ConsumerDefinition<Queryable> = {
        ...base,
        async reset(tx) {
          // A slow rebuild: on PostgreSQL it lasts until the standby has either taken over (the lease was free
          // while the rebuild ran) or queued for the lease behind it. PGlite runs one transaction at a time:
          // there the standby can only slip in before the rebuild's transaction, not during it.
          if (engine.name === 'postgres') {
            await eventually(async () => standby.isActive() || (await blocksAnotherSession(tx)), Boolean, { what: 'the standby to act during the rebuild' })
          }
          await base.reset!(tx)
        },
      }
      const options = { db, schema, consumer: slowReset, feeds: [feed], leaseTtlMs: 400 }
      const first = subscribe({ ...options, instanceId: 'first' })
      await eventually(() => first.isActive(), Boolean, { what: 'first active' })
      const standby = subscribe({ ...options, db: other, feeds: [new OutboxFeed(other, schema, 'test.accounts')], instanceId: 'standby' })
      let last
      for (let i = 1; i <= 20; i++) last = await deposit(`k${i % 4}`, i)
      await eventually(() => first.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'caught up' })
      await first.reset()
      for (let i = 21; i <= 25; i++) last = await deposit(`k${i % 4}`, i)
      // Whoever leads now, its checkpoint says how far the rebuilt read model goes.
      await eventually(() => first.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'rebuilt and caught up' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 25, sum: 325, distinct: 25 })
    })

    it('replaying a dead letter after a rebuild that already applied the message returns false and changes nothing', async () => {
      const { db, schema, feed, deposit } = await setup()
      let fixed = false
      const consumer = ledgerConsumer(schema, { failWhen: (e) => !fixed && (e.data as { amount: number }).amount === 13 })
      const subscription = subscribe({ db, schema, consumer, feeds: [feed], retry: fastRetry })
      let last
      for (let i = 10; i <= 16; i++) last = await deposit('acct', i)
      await eventually(() => subscription.hasProcessed('test.accounts', last!.token!.position), Boolean, { what: 'stream moved on' })
      const letters = await listDeadLetters(db, schema, 'ledger')
      expect(letters).toHaveLength(1)
      // The fix is deployed and the read model rebuilt from the feed: the rebuild applies the message itself.
      fixed = true
      await subscription.reset()
      await eventually(() => ledgerTotals(db, schema), (t) => t.count === 7, { what: 'rebuilt' })
      expect(await subscription.replay(letters[0]!.id)).toBe(false)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 7, sum: 91, distinct: 7 })
    })

    it('stop() right after start() resolves, leaves the subscription inactive and applies nothing afterwards', async () => {
      const { db, schema, feed, deposit } = await setup()
      const other = await engine.connect()
      // A long lease: if this instance kept it, no one else could lead for a minute.
      const subscription = new Subscription({ db, schema, consumer: ledgerConsumer(schema), feeds: [feed], pollIntervalMs: 50, leaseTtlMs: 60_000 })
      subscription.start()
      await subscription.stop() // e.g. SIGTERM during start-up, while the first lease acquisition is in flight
      expect(subscription.isActive()).toBe(false)
      // The lease was handed back: another instance leads at once and is the only one to apply what comes next.
      const successor = subscribe({ db: other, schema, consumer: ledgerConsumer(schema), feeds: [new OutboxFeed(other, schema, 'test.accounts')] })
      await eventually(() => successor.isActive(), Boolean, { what: 'another instance to take the lease' })
      const committed = await deposit('a', 7)
      await eventually(() => successor.hasProcessed('test.accounts', committed.token!.position), Boolean, { what: 'the successor to catch up' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 1, sum: 7, distinct: 1 })
      expect(subscription.isActive()).toBe(false)
    })

    it('a stop() that comes while reset() runs is not undone when the reset ends', async () => {
      const { db, schema, feed, deposit } = await setup()
      const other = await engine.connect()
      const base = ledgerConsumer(schema)
      const inReset = gate()
      const resetMayEnd = gate()
      const slowReset: ConsumerDefinition<Queryable> = {
        ...base,
        async reset(tx) {
          inReset.open()
          await resetMayEnd.opened
          await base.reset!(tx)
        },
      }
      const subscription = subscribe({ db, schema, consumer: slowReset, feeds: [feed], leaseTtlMs: 400 })
      await eventually(() => subscription.isActive(), Boolean, { what: 'active' })
      const resetting = subscription.reset() // an operator's rebuild…
      await inReset.opened
      await subscription.stop() // …while the process shuts down
      resetMayEnd.open()
      await resetting
      // Restarted, this instance would take the lease back at once and keep renewing it; stopped, it leaves the
      // lease to another instance.
      const successor = subscribe({ db: other, schema, consumer: base, feeds: [new OutboxFeed(other, schema, 'test.accounts')], leaseTtlMs: 400, instanceId: 'successor' })
      await eventually(() => successor.isActive() || subscription.isActive(), Boolean, { what: 'an instance to lead' })
      expect(subscription.isActive()).toBe(false)
      const committed = await deposit('a', 7)
      await eventually(() => successor.hasProcessed('test.accounts', committed.token!.position), Boolean, { what: 'the successor to catch up' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 1, sum: 7, distinct: 1 })
      expect(subscription.isActive()).toBe(false)
    })

    it('a consumer with handleBatch gets whole chunks of new messages, with the same effect as one by one', async () => {
      const { db, schema } = await setup()
      const messages = Array.from({ length: 120 }, (_, i) => envelope(`k${i % 7}`, Math.floor(i / 7) + 1, i + 1))
      const feed = new ScriptedFeed('test.accounts', duplicatedAndShuffled(messages, seededRandom(11)))
      const single = ledgerConsumer(schema)
      const batches: number[] = []
      const consumer = {
        ...single,
        async handleBatch(tx: Queryable, batch: Envelope[]) {
          batches.push(batch.length)
          for (const message of batch) await single.handle(tx, message)
        },
      }
      const subscription = subscribe({ db, schema, consumer, feeds: [feed], batchSize: 500 })
      await eventually(() => subscription.hasProcessed('test.accounts', feed.lastPosition), Boolean, { what: 'drained' })
      expect(await ledgerTotals(db, schema)).toEqual({ count: 120, sum: 7260, distinct: 120 })
      expect(await outOfOrderKeys(db, schema)).toEqual([])
      expect(Math.max(...batches)).toBeGreaterThan(1)
      expect(batches.reduce((a, b) => a + b, 0)).toBe(120)
    })

    it('a page that takes longer than its time budget commits part of itself and continues from there', async () => {
      const { db, schema } = await setup()
      const messages = Array.from({ length: 300 }, (_, i) => envelope(`k${i % 5}`, Math.floor(i / 5) + 1, 1))
      const feed = new ScriptedFeed('test.accounts', messages)
      const slow = ledgerConsumer(schema)
      const consumer = {
        ...slow,
        async handle(tx: Queryable, message: Envelope) {
          await new Promise((r) => setTimeout(r, 3))
          await slow.handle(tx, message)
        },
      }
      // A 600 ms lease gives pages a 200 ms budget; the 300 messages take at least 900 ms.
      const subscription = subscribe({ db, schema, consumer, feeds: [feed], batchSize: 300, leaseTtlMs: 600 })
      let commits = 0
      subscription.onProgress(() => commits++)
      await eventually(() => subscription.hasProcessed('test.accounts', feed.lastPosition), Boolean, { what: 'drained' })
      expect(commits).toBeGreaterThanOrEqual(3)
      expect(await ledgerTotals(db, schema)).toEqual({ count: 300, sum: 300, distinct: 300 })
    })

    it('follows several feeds under one lease', async () => {
      const { db, schema, feed, deposit } = await setup()
      const otherSchema = await engine.freshSchema('sub2')
      const otherUow = new UnitOfWork({ db, schema: otherSchema, source: 'test.other' })
      const otherFeed: FeedReader = new OutboxFeed(db, otherSchema, 'test.other')
      const subscription = subscribe({ db, schema, consumer: ledgerConsumer(schema, { follows: ['test.accounts', 'test.other'] }), feeds: [feed, otherFeed] })
      const a = await deposit('a', 1)
      const b = await otherUow.run(async (tx) => tx.record(event('test.Deposited.v1', 'b', { account: 'b', amount: 2 })))
      await eventually(
        async () => (await subscription.hasProcessed('test.accounts', a.token!.position)) && subscription.hasProcessed('test.other', b.token!.position),
        Boolean,
        { what: 'both feeds' },
      )
      expect(await ledgerTotals(db, schema)).toMatchObject({ count: 2, sum: 3 })
    })
  })
}

/**
 * PostgreSQL only: true while another session waits for a lock this transaction holds. (`pg_locks`, not
 * `pg_stat_activity`: the latter is a snapshot taken once per transaction, so polling it from inside one
 * would never see a change.)
 */
export async function blocksAnotherSession(tx: Queryable): Promise<boolean> {
  const result = await tx.query<{ blocks: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY (pg_blocking_pids(pid))) AS blocks',
  )
  return result.rows[0]!.blocks
}

/** A one-shot signal one side opens and the other awaits. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

function envelope(key: string, version: number, amount: number): Envelope {
  return {
    id: uuidv7(),
    type: 'test.Deposited.v1',
    source: 'test.accounts',
    key,
    version,
    occurredAt: new Date().toISOString(),
    data: { account: key, amount },
    meta: {},
  }
}
