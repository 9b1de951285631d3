import { afterEach, describe, expect, it } from 'vitest'
import { ConfirmWindow, event, partitionOf, START, WATERMARK_TYPE, type Envelope, type Publisher } from '@tidings/core'
import { eventually, testEngines, transactionsSettled } from '@tidings/testing'
import { OutboxFeed } from './outbox-feed'
import { Relay } from './relay'
import { UnitOfWork } from '../commands/unit-of-work'

const SOURCE = 'test.relayed'

/**
 * A broker stand-in that keeps what it confirmed, in order: the relay's logic is under test here; the
 * transport contract suite runs the relay against the real brokers. Overlapping publishes behave as on a
 * broker connection (`ConfirmWindow`): in order, and a failure fails the ones queued behind it.
 */
class RecordingPublisher implements Publisher {
  readonly confirmed: Envelope[] = []
  /** Publishes overlapping at most, seen so far. */
  overlap = 0
  private window = new ConfirmWindow(1)
  private inFlight = 0
  constructor(
    readonly partitions = 1,
    readonly deduplicates = true,
  ) {}
  /** Called before a batch is confirmed; may throw (the broker refused) or act (steal the lease). */
  beforeConfirm?: (events: readonly Envelope[]) => Promise<void>

  async publish(_source: string, events: readonly Envelope[]): Promise<void> {
    const window = this.window
    this.overlap = Math.max(this.overlap, ++this.inFlight)
    try {
      await window.publish([events], async (batch) => {
        await this.beforeConfirm?.(batch)
        this.confirmed.push(...batch)
      })
    } catch (error) {
      if (this.window === window) this.window = new ConfirmWindow(1)
      throw error
    } finally {
      this.inFlight--
    }
  }

  async close(): Promise<void> {}
}

for (const engine of await testEngines()) {
  describe(`the relay on ${engine.name}`, () => {
    const running: Relay[] = []
    afterEach(async () => {
      await Promise.all(running.splice(0).map((r) => r.stop()))
    })

    async function setup() {
      const db = await engine.db()
      const schema = await engine.freshSchema('relay')
      const uow = new UnitOfWork({ db, schema, source: SOURCE })
      const feed = new OutboxFeed(db, schema, SOURCE)
      const write = async (n: number, from = 0) => {
        for (let i = from; i < from + n; i += 10) {
          await uow.run(async (tx) => {
            for (let j = i; j < Math.min(i + 10, from + n); j++) tx.record(event('test.Counted', `k${j % 7}`, { j }))
          })
        }
      }
      const relay = (publisher: Publisher, instanceId?: string) => {
        const r = new Relay({ db, feed, publisher, leaseTtlMs: 600, batchSize: 25, pollIntervalMs: 50, ...(instanceId ? { instanceId } : {}) })
        running.push(r)
        r.start()
        return r
      }
      // Every write committed and visible: a shared server's other transactions can hold the feed's horizon back.
      const head = async () => {
        await transactionsSettled(db)
        return (await feed.read(START, 10_000)).items
      }
      return { db, schema, write, relay, head }
    }

    it('publishes every event once, in outbox order, and saves how far the broker confirmed', async () => {
      const { write, relay, head } = await setup()
      await write(120)
      const broker = new RecordingPublisher()
      const r = relay(broker)
      const all = await head()
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published' })
      expect(broker.confirmed.map((e) => e.id)).toEqual(all.map((e) => e.id))
      await r.stop()
      expect(await r.publishedPosition()).toBe(all.at(-1)!.position) // saved, read back from the table

      // A restart continues after the saved progress: nothing published twice.
      await write(30, 120)
      const again = relay(broker)
      const more = await head()
      await eventually(() => again.publishedPosition(), (p) => p === more.at(-1)!.position, { what: 'the rest published' })
      expect(broker.confirmed.map((e) => e.id)).toEqual(more.map((e) => e.id))
    })

    it('puts a watermark at the last event of each page into every partition that did not get that event', async () => {
      const { write, relay, head } = await setup()
      await write(60)
      const broker = new RecordingPublisher(4)
      const batches: Envelope[][] = []
      broker.beforeConfirm = async (events) => void batches.push([...events])
      const r = relay(broker)
      const all = await head()
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published' })
      const watermarks = broker.confirmed.filter((e) => e.type === WATERMARK_TYPE)
      expect(broker.confirmed.filter((e) => e.type !== WATERMARK_TYPE).map((e) => e.id)).toEqual(all.map((e) => e.id))
      expect(batches.length).toBeGreaterThan(1) // pages of 25
      for (const batch of batches) {
        const events = batch.filter((e) => e.type !== WATERMARK_TYPE)
        const last = events.at(-1)!
        const marks = batch.slice(events.length)
        // Behind the page's events, one per other partition, each at the page's last position.
        expect(batch.slice(0, events.length)).toEqual(events)
        expect(marks.map((m) => partitionOf(m.key, 4)).sort()).toEqual([0, 1, 2, 3].filter((p) => p !== partitionOf(last.key, 4)))
        expect(marks.every((m) => m.position === last.position && m.source === SOURCE && m.type === WATERMARK_TYPE)).toBe(true)
      }
      expect(new Set(watermarks.map((m) => m.id)).size).toBe(watermarks.length)
    })

    it("chains each partition's messages to a broker that stores repeats, across pages and a restart; not to one that drops them", async () => {
      const { write, relay, head } = await setup()
      await write(60)
      const broker = new RecordingPublisher(4, false)
      const first = relay(broker)
      const all = await head()
      await eventually(() => first.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published' })
      await first.stop()
      await write(30, 60)
      const again = relay(broker)
      const more = await head()
      await eventually(() => again.publishedPosition(), (p) => p === more.at(-1)!.position, { what: 'the rest published' })
      // Every message names the one before it in its partition (watermarks included), the first of all START.
      const last = new Map<number, string>()
      for (const message of broker.confirmed) {
        const partition = partitionOf(message.key, 4)
        expect(message.meta.previousInPartition, message.id).toBe(last.get(partition) ?? START)
        last.set(partition, message.position!)
      }
      expect(broker.confirmed.filter((e) => e.type !== WATERMARK_TYPE).map((e) => e.id)).toEqual(more.map((e) => e.id))

      const deduplicating = new RecordingPublisher(4, true)
      await again.stop()
      await write(10, 90)
      const third = relay(deduplicating)
      const latest = await head()
      await eventually(() => third.publishedPosition(), (p) => p === latest.at(-1)!.position, { what: 'the last published' })
      expect(deduplicating.confirmed.length).toBeGreaterThan(0)
      expect(deduplicating.confirmed.every((e) => e.meta.previousInPartition === undefined)).toBe(true)
    })

    it('publishes no watermarks to a single partition', async () => {
      const { write, relay, head } = await setup()
      await write(30)
      const broker = new RecordingPublisher(1)
      const r = relay(broker)
      const all = await head()
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published' })
      expect(broker.confirmed.map((e) => e.id)).toEqual(all.map((e) => e.id))
    })

    it('re-publishes a batch the broker did not confirm, and loses nothing', async () => {
      const { write, relay, head } = await setup()
      await write(100)
      const broker = new RecordingPublisher()
      let refusals = 2
      broker.beforeConfirm = async () => {
        if (refusals-- > 0) throw new Error('broker unavailable')
      }
      const r = relay(broker)
      const all = await head()
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published despite two refusals', timeoutMs: 15_000 })
      expect(broker.confirmed.map((e) => e.id)).toEqual(all.map((e) => e.id))
    })

    it('sends no page after one that failed, though the page before it was still being saved (a backlog)', async () => {
      const { write, relay, head } = await setup()
      await write(100) // four full pages: the relay reads each next page while the one before it is out
      const all = await head()
      const broker = new RecordingPublisher()
      let batches = 0
      broker.beforeConfirm = async () => {
        // The second page fails as soon as the first is confirmed, while the relay still saves the first.
        if (++batches === 2) throw new Error('broker unavailable')
      }
      const r = relay(broker)
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published despite the refusal', timeoutMs: 15_000 })
      // What a broker without the failed page stored, in the order stored: a third page stored there would
      // come before the second one's repeat, and so would its keys' later events.
      const firstStored = [...new Set(broker.confirmed.map((e) => e.id))]
      expect(firstStored).toEqual(all.map((e) => e.id))
    })

    it('runs one active relay per outbox; a standby takes over from the saved progress when it stops', async () => {
      const { write, relay, head } = await setup()
      await write(60)
      const first = new RecordingPublisher()
      const second = new RecordingPublisher()
      const a = relay(first, 'relay-a')
      const b = relay(second, 'relay-b')
      let all = await head()
      await eventually(async () => (await a.publishedPosition()) === all.at(-1)!.position || (await b.publishedPosition()) === all.at(-1)!.position, Boolean, { what: 'published' })
      const [leader, standby, leaderBroker, standbyBroker] = a.isActive() ? [a, b, first, second] : [b, a, second, first]
      expect(standby.isActive()).toBe(false)
      expect(standbyBroker.confirmed).toEqual([])
      await leader.stop()
      await write(40, 60)
      all = await head()
      await eventually(() => standby.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'the standby took over', timeoutMs: 15_000 })
      expect([...leaderBroker.confirmed, ...standbyBroker.confirmed].map((e) => e.id)).toEqual(all.map((e) => e.id))
    })

    it('cannot save progress once deposed: the successor publishes again the page out and the one at most sent behind it', async () => {
      const { db, schema, write, relay, head } = await setup()
      await write(60)
      const broker = new RecordingPublisher()
      const pages: Array<readonly Envelope[]> = []
      broker.beforeConfirm = async (events) => {
        pages.push(events)
        if (pages.length > 1) return
        // Another instance takes the lease while this batch is out; it holds it briefly, then lets go.
        await db.query(`UPDATE "${schema}".leases SET owner = 'thief', expires_at = clock_timestamp() + interval '300 milliseconds' WHERE name = $1`, [`relay:${SOURCE}`])
      }
      const all = await head() // all of it visible before the relay starts: its pages are full
      const r = relay(broker)
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'published after the lease came back', timeoutMs: 15_000 })
      // The deposed relay's pages went out again, everything else once, in order. It had sent the page
      // behind the stolen one if that page was read before the refused save was seen; never more. (Pages
      // hold up to 25: fewer where a shared server's other transactions held the feed's horizon back.)
      const again = broker.confirmed.length - all.length
      expect([pages[0]!.length, pages[0]!.length + pages[1]!.length]).toContain(again)
      expect(broker.confirmed.map((e) => e.id)).toEqual([...all.slice(0, again), ...all].map((e) => e.id))
    })

    it('sends a page while the one before it awaits its confirms, and no third before the first is saved', async () => {
      const { write, relay, head } = await setup()
      await write(100)
      const broker = new RecordingPublisher()
      broker.beforeConfirm = () => new Promise((resolve) => setTimeout(resolve, 50)) // a slow broker
      const all = await head() // all of it visible before the relay starts: its pages are full
      const r = relay(broker)
      await eventually(() => r.publishedPosition(), (p) => p === all.at(-1)!.position, { what: 'all published' })
      expect(broker.confirmed.map((e) => e.id)).toEqual(all.map((e) => e.id))
      expect(broker.overlap).toBe(2)
    })
  })
}
