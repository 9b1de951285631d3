import { afterEach, describe, expect, it } from 'vitest'
import { comparePositions, uuidv7, type ConsumerDefinition, type Envelope, type Logger } from '@tidings/core'
import { listDeadLetters, Subscription, type Queryable, type SubscriptionOptions } from '@tidings/postgres'
import type { TestEngine } from '../engines'
import { eventually } from '../eventually'
import { createLedgerTables, ledgerConsumer, ledgerTotals } from '../ledger-projection'
import { duplicatedAndShuffled, ScriptedFeed, seededRandom } from '../scripted-feed'

const SOURCE = 'test.accounts'
const fastRetry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }
const modes = ['inline', 'deferred'] as const

/** A consumer's `afterCommit` hook: once per applied message, only after its commit, before the progress. */
export function afterCommitContract(engine: TestEngine): void {
  describe(`afterCommit hooks on ${engine.name}`, () => {
    const running: Subscription[] = []
    afterEach(async () => {
      await Promise.all(running.splice(0).map((s) => s.stop()))
    })

    function subscribe(options: SubscriptionOptions): Subscription {
      const subscription = new Subscription({ pollIntervalMs: 50, leaseTtlMs: 2_000, retry: fastRetry, ...options })
      running.push(subscription)
      subscription.start()
      return subscription
    }

    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('hook')
      await createLedgerTables(db, schema)
      return { db, schema }
    }

    /** The ledger consumer, with a hook that records each call's message ids. */
    function hooked(schema: string, options: Parameters<typeof ledgerConsumer>[1] = {}) {
      const calls: string[][] = []
      const consumer: ConsumerDefinition<Queryable> = {
        ...ledgerConsumer(schema, options),
        afterCommit: (messages) => void calls.push(messages.map((m) => m.id)),
      }
      return { consumer, calls, ids: () => calls.flat() }
    }

    for (const mode of modes) {
      it(`${mode}: receives every handled message exactly once, never an empty call`, async () => {
        const { db, schema } = await setup()
        const messages = Array.from({ length: 60 }, (_, i) => envelope(`k${i % 6}`, Math.floor(i / 6) + 1, i + 1))
        const feed = new ScriptedFeed(SOURCE, duplicatedAndShuffled(messages, seededRandom(5)))
        const { consumer, calls, ids } = hooked(schema, { mode })
        const subscription = subscribe({ db, schema, consumer, feeds: [feed], batchSize: 17 })
        await eventually(() => subscription.hasProcessed(SOURCE, feed.lastPosition), Boolean, { what: 'drained' })
        // Nothing to wait for: a processed position is only reported once the hooks up to it have run.
        expect(sorted(ids())).toEqual(sorted(messages.map((m) => m.id)))
        expect(calls.every((call) => call.length > 0)).toBe(true)
        expect(await ledgerTotals(db, schema)).toMatchObject({ count: 60, distinct: 60 })
      })

      it(`${mode}: is not called for a transaction that rolled back, only for the attempt that committed`, async () => {
        const { db, schema } = await setup()
        // Inline, one page of 110: its first 104 messages are handled before the 105th fails.
        const messages = Array.from({ length: 110 }, (_, i) => envelope(`k${i % 10}`, Math.floor(i / 10) + 1, 1))
        const failing = messages[104]!
        const feed = new ScriptedFeed(SOURCE, messages)
        const attempts = new Map<string, number>()
        const { consumer, calls, ids } = hooked(schema, {
          mode,
          failWhen: (m) => {
            attempts.set(m.id, (attempts.get(m.id) ?? 0) + 1)
            return m.id === failing.id && attempts.get(m.id) === 1
          },
        })
        // A long lease and page budget, so that slow first chunks cannot use up the budget and split the page.
        const subscription = subscribe({ db, schema, consumer, feeds: [feed], leaseTtlMs: 30_000, pageBudgetMs: 10_000 })
        await eventually(() => subscription.hasProcessed(SOURCE, feed.lastPosition), Boolean, { what: 'drained' })
        expect(attempts.get(failing.id)).toBe(2)
        expect(sorted(ids())).toEqual(sorted(messages.map((m) => m.id)))
        if (mode === 'inline') {
          // The page's transaction rolled back after handling 104 messages; then each was applied alone.
          expect(attempts.get(messages[0]!.id)).toBe(2)
          expect(calls).toEqual(messages.map((m) => [m.id]))
        }
        expect(await ledgerTotals(db, schema)).toEqual({ count: 110, sum: 110, distinct: 110 })
      })

      it(`${mode}: has run for every handled message whenever the subscription reports progress`, async () => {
        const { db, schema } = await setup()
        const messages = Array.from({ length: 40 }, (_, i) => envelope(`k${i % 4}`, Math.floor(i / 4) + 1, i + 1))
        // Deferred: one page, so that the feed loop reports its progress before the worker handles anything.
        const feed = new ScriptedFeed(SOURCE, messages)
        const log: string[] = []
        const base = ledgerConsumer(schema, { mode })
        const consumer: ConsumerDefinition<Queryable> = {
          ...base,
          async handle(tx, message) {
            await base.handle(tx, message)
            log.push(`handled ${message.id}`)
          },
          afterCommit: (batch) => batch.forEach((m) => log.push(`hook ${m.id}`)),
        }
        const subscription = subscribe({ db, schema, consumer, feeds: [feed], batchSize: mode === 'inline' ? 7 : 100 })
        // A scripted feed numbers its deliveries: this script has no duplicates.
        const positionOf = new Map(messages.map((m, i) => [m.id, `1-${i + 1}`]))
        const late: string[] = []
        subscription.onProgress(() => {
          // What a consistency wait woken now would look at: every message handled (and, with no failures
          // here, committed) so far, and inline every message up to the position now reported, is hooked.
          const hooked = new Set(log.filter((l) => l.startsWith('hook ')).map((l) => l.slice(5)))
          const handled = log.filter((l) => l.startsWith('handled ')).map((l) => l.slice(8))
          const reported = mode === 'inline' ? (subscription.status().positions[SOURCE] ?? '0') : '0'
          const covered = [...positionOf].filter(([, p]) => comparePositions(p, reported) <= 0).map(([id]) => id)
          late.push(...[...handled, ...covered].filter((id) => !hooked.has(id)))
          log.push('progress')
        })
        await eventually(() => subscription.hasProcessed(SOURCE, feed.lastPosition), Boolean, { what: 'drained' })
        expect(late).toEqual([])
        expect(log.filter((l) => l === 'progress').length).toBeGreaterThanOrEqual(mode === 'inline' ? 6 : 2)
        expect(log.filter((l) => l.startsWith('hook ')).length).toBe(40)
      })

      it(`${mode}: a hook that throws (or rejects) is logged and the subscription carries on`, async () => {
        const { db, schema } = await setup()
        const errors: string[] = []
        const logger: Logger = { info: () => {}, warn: () => {}, error: (_obj, msg) => void errors.push(msg ?? '') }
        const messages = Array.from({ length: 10 }, (_, i) => envelope(`k${i}`, 1, i + 1))
        const feed = new ScriptedFeed(SOURCE, messages)
        let calls = 0
        const consumer: ConsumerDefinition<Queryable> = {
          ...ledgerConsumer(schema, { mode }),
          afterCommit: () => {
            calls++
            if (calls % 2 === 1) throw new Error('hook failed')
            // An async function fits the type too: its rejection must be caught, not left unhandled.
            return rejectSoon() as unknown as void
          },
        }
        const subscription = subscribe({ db, schema, consumer, feeds: [feed], batchSize: 3, logger })
        await eventually(() => subscription.hasProcessed(SOURCE, feed.lastPosition), Boolean, { what: 'drained' })
        await eventually(() => errors.filter((e) => e === 'afterCommit hook failed').length, (n) => n >= calls, { what: 'errors logged' })
        expect(await ledgerTotals(db, schema)).toEqual({ count: 10, sum: 55, distinct: 10 })
        expect(await listDeadLetters(db, schema, 'ledger')).toEqual([])
        expect(subscription.isActive()).toBe(true)
      })
    }

    it('runs after a dead letter is replayed, and not for a replay that fails or changes nothing', async () => {
      const { db, schema } = await setup()
      let fixed = false
      const messages = [envelope('a', 1, 1), envelope('a', 2, 13), envelope('a', 3, 3)]
      const feed = new ScriptedFeed(SOURCE, messages)
      const { consumer, ids } = hooked(schema, { failWhen: (m) => !fixed && (m.data as { amount: number }).amount === 13 })
      const subscription = subscribe({ db, schema, consumer, feeds: [feed] })
      await eventually(() => subscription.hasProcessed(SOURCE, feed.lastPosition), Boolean, { what: 'stream moved on' })
      expect(sorted(ids())).toEqual(sorted([messages[0]!.id, messages[2]!.id]))
      const [letter] = await listDeadLetters(db, schema, 'ledger')
      await expect(subscription.replay(letter!.id)).rejects.toThrow('poison')
      expect(ids()).toHaveLength(2)
      fixed = true
      expect(await subscription.replay(letter!.id)).toBe(true)
      expect(ids().at(-1)).toBe(messages[1]!.id)
      expect(await subscription.replay(letter!.id)).toBe(false)
      expect(sorted(ids())).toEqual(sorted(messages.map((m) => m.id)))
    })
  })
}

async function rejectSoon(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1))
  throw new Error('async hook failed')
}

function sorted(ids: string[]): string[] {
  return [...ids].sort()
}

function envelope(key: string, version: number, amount: number): Envelope {
  return {
    id: uuidv7(),
    type: 'test.Deposited.v1',
    source: SOURCE,
    key,
    version,
    occurredAt: new Date().toISOString(),
    data: { account: key, amount },
    meta: {},
  }
}
