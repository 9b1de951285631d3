import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { readdirSync, readFileSync } from 'node:fs'
import { comparePositions, partitionOf, START, type Envelope, type FeedPage, type Position, type Publisher, type ReadOptions } from '@tidings/core'
import { natsTransport, partitionSubject, streamName, type NatsTransport } from '@tidings/nats'
import { OutboxFeed, Relay, sleep, type Database } from '@tidings/postgres'
import { backendsOf, cpuMsOf } from '../lib/cpu'
import { SCALE, seconds } from '../lib/env'
import { alternate, type Throughput } from '../lib/load'
import type { Report } from '../lib/report'
import { formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { writeBacklog } from '../lib/workload'

/**
 * Figure 14 (14e on PGlite): the relay's publish rate to NATS JetStream against the raw publish rate of the
 * same client library in the same run (issue #4, goal ≥ 0.8).
 *
 * - Raw ceilings: `@nats-io/jetstream`'s `js.publish` called directly with the envelopes the relay
 *   publishes (read from the same outbox: same JSON, same partition subjects, `msgID` = envelope id, the
 *   same `timeout`), JSON.stringify per message as the publisher does, at most MAX_IN_FLIGHT PubAcks
 *   outstanding, one window over the whole round (no pages). Two ways to keep the window full:
 *   *window* — as NatsPublisher does, one publish per PubAck that comes back (figure 14's ceiling);
 *   *bursts* — wait until half the window is confirmed, then refill it at once (figure 14b's ceiling;
 *   the same limit of outstanding PubAcks, but the client library's best on this machine, ~2×).
 * - Relay: N events pre-written into an outbox (`writeBacklog`), then a `Relay` with the transport's
 *   publisher (batchSize 500, the default) started at START; events/s from `start()` until
 *   `publishedPosition()` (polled every 20 ms) reaches the outbox's last position. Every round publishes
 *   to a fresh stream (JetStream dedupes by msgID per stream), checked to hold exactly N messages and
 *   deleted afterwards.
 *
 * The raw windows and the relay alternate (twice) so they share the background load. (NatsPublisher
 * refills its window in bursts since this bench showed the difference.) Once after: the relay with batchSize 2,000, over the first half of the outbox. Details: CPU per event by
 * process, and the relay's time per page split into outbox read, publish (until every PubAck is in) and
 * progress save.
 */
const NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222'
const PARTITIONS = 4
const MAX_IN_FLIGHT = 256
const TIMEOUT_MS = 5_000
/** Outbox events per relay round: a few seconds at the raw rates (~6–16k events/s on this machine). */
const SERVER_EVENTS = Math.max(4_000, Math.round(24_000 * SCALE))
const EMBEDDED_EVENTS = Math.max(4_000, Math.round(16_000 * SCALE))
const APPLICATION = 'tidings-bench-relay'

type Engine = 'postgres' | 'pglite'
type Phase = 'window' | 'bursts' | 'relay' | 'relay2000'

async function relayThroughput(bench: Workbench, report: Report, engine: Engine, db: Database, events: number): Promise<void> {
  const nats = await NatsBench.open(bench)
  const schema = engine === 'postgres' ? await bench.serverSchema('relay') : await bench.embeddedSchema(db, 'relay')
  const written = performance.now()
  await writeBacklog(db, schema, events)
  // The relay's own envelopes, for the raw ceilings: read once through the same feed.
  const envelopes = await readAll(new OutboxFeed(db, schema, 'bench.relay'))
  if (envelopes.length !== events) throw new Error(`outbox holds ${envelopes.length} events, expected ${events}`)
  const bytes = envelopes.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0)
  console.log(`     (outbox: ${events.toLocaleString('en-US')} events written and read back in ${((performance.now() - written) / 1000).toFixed(1)} s; ${(bytes / events).toFixed(0)} bytes of JSON each)`)

  const phases: Phase[] = ['window', 'bursts', 'relay', 'relay2000']
  const cpu = Object.fromEntries(phases.map((p) => [p, new Cpu()])) as Record<Phase, Cpu>
  const profiles = Object.fromEntries(phases.map((p) => [p, new PageProfile()])) as Record<Phase, PageProfile>
  const backends = engine === 'postgres' ? () => backendsOf(bench.admin, APPLICATION) : async () => []
  const raw = (phase: 'window' | 'bursts', ms: number) => () =>
    cpu[phase].measure(async () => [], () => nats.withSource(phase, (source) => rawPublish(nats.js, source, envelopes, ms, phase === 'bursts' ? MAX_IN_FLIGHT / 2 : MAX_IN_FLIGHT - 1)))
  const relay = (phase: 'relay' | 'relay2000', batchSize: number) => () =>
    cpu[phase].measure(backends, () =>
      nats.withSource(phase, (source) => {
        const publisher = nats.transport.publisher()
        // The batchSize 2,000 round (one, after the others) stops at the middle of the outbox, on a page boundary.
        const count = phase === 'relay2000' ? Math.max(batchSize, Math.floor(events / 2 / batchSize) * batchSize) : events
        return relayOnce(nats, db, schema, source, publisher, batchSize, envelopes[count - 1]!.position!, count, profiles[phase])
      }),
    )

  // Warm-up (the client library's and the relay's code paths get compiled): both raw windows, a relay stopped after 1 s.
  for (const refillAt of [MAX_IN_FLIGHT - 1, MAX_IN_FLIGHT / 2]) await nats.withSource('warmup', (source) => rawPublish(nats.js, source, envelopes, seconds(0.5), refillAt))
  await nats.withSource('warmup', (source) => relayFor(db, schema, source, nats.transport.publisher(), seconds(1)))
  const result = await alternate(2, { window: raw('window', seconds(2)), relay: relay('relay', 500), bursts: raw('bursts', seconds(2)) })
  const relay2000 = await relay('relay2000', 2_000)()
  await nats.close()

  const suffix = engine === 'postgres' ? '' : 'e'
  const where = engine === 'postgres' ? 'PostgreSQL' : 'PGlite'
  const rate = result.relay.perSecond
  for (const [id, ceiling, how] of [
    [`14${suffix}`, result.window.perSecond, 'window'],
    [`14b${suffix}`, result.bursts.perSecond, 'bursts'],
  ] as const) {
    report.add({
      id,
      figure:
        how === 'window'
          ? `relay → NATS JetStream, outbox on ${where}, batchSize 500 (${PARTITIONS} partitions, ≤ ${MAX_IN_FLIGHT} in flight)`
          : `the same relay against raw js.publish refilling its window in bursts (${where})`,
      value: formatRate(rate, 'events/s'),
      ceiling: `raw ${how} ${formatRate(ceiling, 'events/s')}`,
      ratio: rate / ceiling,
      goal: '≥ 0.80',
      met: rate / ceiling >= 0.8,
    })
  }
  const took = (t: Throughput) => `${t.ops} in ${(t.ms / 1000).toFixed(1)} s`
  report.detail(
    `relay ${where}: raw window ${took(result.window)}, raw bursts ${took(result.bursts)}, relay ${took(result.relay)}; ` +
      `relay with batchSize 2,000 ${formatRate(relay2000.perSecond, 'events/s')} (${(relay2000.perSecond / result.window.perSecond).toFixed(2)} of raw window; one round, ${took(relay2000)})`,
  )
  const database = engine === 'postgres' ? 'PostgreSQL' : undefined
  report.detail(
    `relay ${where}: CPU per event: raw window ${cpu.window.perEvent()}; raw bursts ${cpu.bursts.perEvent()}; relay ${cpu.relay.perEvent(database)}; ` +
      `relay 2,000 ${cpu.relay2000.perEvent(database)}`,
  )
  report.detail(`relay ${where} per page: relay ${profiles.relay.summary(500, result.window.perSecond)}`)
  report.detail(`relay ${where} per page: relay 2,000 ${profiles.relay2000.summary(2_000, result.window.perSecond)}`)
}

/** A relay over the outbox for `ms`, then stopped wherever it is (a warm-up). */
async function relayFor(db: Database, schema: string, source: string, publisher: Publisher, ms: number): Promise<void> {
  const relay = new Relay({ db, feed: new OutboxFeed(db, schema, source), publisher })
  relay.start()
  await sleep(ms)
  await relay.stop()
}

/** A relay from START to a fresh stream: events/s until `last` (the `events`-th event) is confirmed. */
async function relayOnce(
  nats: NatsBench,
  db: Database,
  schema: string,
  source: string,
  publisher: Publisher,
  batchSize: number,
  last: Position,
  events: number,
  profile: PageProfile,
): Promise<Throughput> {
  const feed = new TimedFeed(db, schema, source, profile)
  const relay = new Relay({ db, feed, publisher: new TimedPublisher(publisher, profile), batchSize })
  const start = performance.now()
  profile.started(start)
  relay.start()
  try {
    const deadline = start + 120_000
    while (comparePositions(await relay.publishedPosition(), last) < 0) {
      if (performance.now() > deadline) throw new Error(`relay (batch ${batchSize}) did not reach ${last} in 120 s`)
      await sleep(20)
    }
  } finally {
    await relay.stop()
  }
  const ms = performance.now() - start
  const stored = await nats.messages(source)
  // The relay stops after the page in flight: up to one page more than counted.
  if (stored < events || stored > events + batchSize) throw new Error(`stream of ${source} holds ${stored} messages, expected ${events}`)
  return { ops: events, ms, perSecond: (events * 1000) / ms }
}

/**
 * A raw ceiling: the client library alone, as the publisher uses it (JSON, partition subject, msgID,
 * timeout), one window of at most MAX_IN_FLIGHT outstanding PubAcks for the whole round. When the window
 * is full it waits until only `refillAt` remain outstanding: MAX_IN_FLIGHT − 1 is one publish per PubAck
 * (NatsPublisher's way), MAX_IN_FLIGHT / 2 refills in bursts. Stops at the deadline or when every envelope
 * was sent (ids would repeat after that, and JetStream drops repeats).
 */
async function rawPublish(js: JetStreamClient, source: string, envelopes: Envelope[], ms: number, refillAt: number): Promise<Throughput> {
  const subjects = Array.from({ length: PARTITIONS }, (_, p) => partitionSubject(source, p))
  for (const e of envelopes) e.source = source
  const window: Array<Promise<PubAck>> = []
  const start = performance.now()
  const deadline = start + ms
  let sent = 0
  while (sent < envelopes.length && performance.now() < deadline) {
    if (window.length >= MAX_IN_FLIGHT) while (window.length > refillAt) await window.shift()!
    const e = envelopes[sent++]!
    window.push(js.publish(subjects[partitionOf(e.key, PARTITIONS)]!, JSON.stringify(e), { msgID: e.id, timeout: TIMEOUT_MS }))
  }
  while (window.length > 0) await window.shift()!
  const elapsed = performance.now() - start
  return { ops: sent, ms: elapsed, perSecond: (sent * 1000) / elapsed }
}


async function readAll(feed: OutboxFeed): Promise<Envelope[]> {
  const all: Envelope[] = []
  let after: Position = START
  for (;;) {
    const page = await feed.read(after, 5_000)
    if (page.items.length === 0) return all
    for (const e of page.items) all.push(e)
    after = page.next
  }
}

/**
 * Where a relay's time goes, page by page: reading the outbox, publishing (until the broker confirmed the
 * page), and the rest of the round until the next read begins — the progress save under the lease.
 */
class PageProfile {
  pages = 0
  events = 0
  readMs = 0
  publishMs = 0
  saveMs = 0
  startupMs = 0
  rounds = 0
  private startAt = 0
  private publishedAt?: number
  private first = true

  started(at: number): void {
    this.startAt = at
    this.rounds++
    this.first = true
    this.publishedAt = undefined
  }

  reading(at: number): void {
    if (this.first) {
      this.startupMs += at - this.startAt
      this.first = false
    }
    if (this.publishedAt !== undefined) this.saveMs += at - this.publishedAt
    this.publishedAt = undefined
  }

  read(ms: number, items: number): void {
    if (items > 0) this.readMs += ms
  }

  published(ms: number, items: number, at: number): void {
    this.pages++
    this.events += items
    this.publishMs += ms
    this.publishedAt = at
  }

  summary(batch: number, rawPerSecond: number): string {
    const per = (ms: number) => formatMs(ms / this.pages)
    const atRaw = (batch * 1000) / rawPerSecond
    const total = this.readMs + this.publishMs + this.saveMs
    const share = (ms: number) => `${((ms / total) * 100).toFixed(0)}%`
    return (
      `${this.pages} pages; per page: outbox read ${per(this.readMs)} (${share(this.readMs)}), publish until confirmed ${per(this.publishMs)} (${share(this.publishMs)}; ` +
      `the raw rate sends a page in ${formatMs(atRaw)}), progress save ${per(this.saveMs)} (${share(this.saveMs)}); start to first read ${formatMs(this.startupMs / this.rounds)} per round`
    )
  }
}

/**
 * CPU per event, split by process: this one (client: the relay, its feed and the NATS client; PGlite runs
 * here too), the NATS server and the PostgreSQL backends (both read from /proc, so only when they run on
 * this machine).
 */
class Cpu {
  private client = 0
  private nats = 0
  private postgres = 0
  private events = 0
  private natsKnown = NATS_PID !== undefined

  async measure(backends: () => Promise<number[]>, work: () => Promise<Throughput>): Promise<Throughput> {
    const pids = await backends()
    const before = pids.map((pid) => cpuMsOf(pid) ?? 0)
    const natsBefore = NATS_PID === undefined ? undefined : cpuMsOf(NATS_PID)
    const clientBefore = process.cpuUsage()
    const result = await work()
    const client = process.cpuUsage(clientBefore)
    const natsAfter = NATS_PID === undefined ? undefined : cpuMsOf(NATS_PID)
    // Backends that closed meanwhile count as 0: the pool keeps its connections open for the round.
    this.postgres += pids.reduce((n, pid, i) => n + Math.max(0, (cpuMsOf(pid) ?? before[i]!) - before[i]!), 0)
    if (natsBefore === undefined || natsAfter === undefined) this.natsKnown = false
    else this.nats += natsAfter - natsBefore
    this.client += (client.user + client.system) / 1000
    this.events += result.ops
    return result
  }

  perEvent(database?: string): string {
    const us = (ms: number) => ((ms * 1000) / this.events).toFixed(0)
    const parts = [`client ${us(this.client)}`, this.natsKnown ? `NATS server ${us(this.nats)}` : 'NATS server unknown']
    if (database) parts.push(`${database} ${us(this.postgres)}`)
    const total = this.client + (this.natsKnown ? this.nats : 0) + (database ? this.postgres : 0)
    return `${parts.join(' + ')} = ${us(total)} µs`
  }
}

/** The NATS server's process when it runs on this machine (for its CPU time), else undefined. */
const NATS_PID = ((): number | undefined => {
  const port = new URL(NATS_URL).port || '4222'
  const servers: Array<{ pid: number; args: string[] }> = []
  let entries: string[] = []
  try {
    entries = readdirSync('/proc')
  } catch {
    return undefined // no /proc: not Linux
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'nats-server') continue
      servers.push({ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') })
    } catch {
      // gone, or not ours to see
    }
  }
  const onPort = servers.filter((s) => s.args.some((a, i) => a === port && ['-p', '--port'].includes(s.args[i - 1] ?? '')))
  return (onPort.length === 1 ? onPort[0] : servers.length === 1 ? servers[0] : undefined)?.pid
})()

/** The relay's feed, timing each page it reads. */
class TimedFeed extends OutboxFeed {
  constructor(
    db: Database,
    schema: string,
    source: string,
    private readonly profile: PageProfile,
  ) {
    super(db, schema, source)
  }

  override async read(after: Position, limit: number, options?: ReadOptions): Promise<FeedPage> {
    const start = performance.now()
    this.profile.reading(start)
    const page = await super.read(after, limit, options)
    this.profile.read(performance.now() - start, page.items.length)
    return page
  }
}

/** The relay's publisher, timing each page until every PubAck is in. */
class TimedPublisher implements Publisher {
  constructor(
    private readonly inner: Publisher,
    private readonly profile: PageProfile,
  ) {}

  get partitions(): number {
    return this.inner.partitions
  }

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    const start = performance.now()
    await this.inner.publish(source, events)
    const end = performance.now()
    this.profile.published(end - start, events.length, end)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

/**
 * The NATS side of the bench: the transport under test and, beside it, a plain connection of the same
 * client library for the raw ceiling and stream management. Every source is unique to the run; its stream
 * is deleted when its phase ends, and whatever is left at the end (also after a crash).
 */
class NatsBench {
  private readonly live = new Set<string>()
  private counter = 0
  private closed = false

  private constructor(
    readonly transport: NatsTransport,
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly js: JetStreamClient,
  ) {}

  static async open(bench: Workbench): Promise<NatsBench> {
    // The plain connection first: it fails at once without a server (the transport would wait for one).
    const nc = await connect({ servers: NATS_URL, name: 'tidings-bench-raw', timeout: TIMEOUT_MS })
    const jsm = await jetstreamManager(nc, { timeout: TIMEOUT_MS })
    const transport = await natsTransport({ servers: NATS_URL, partitions: PARTITIONS, maxInFlight: MAX_IN_FLIGHT, timeoutMs: TIMEOUT_MS, name: 'tidings-bench-relay' })
    const nats = new NatsBench(transport, nc, jsm, jetstream(nc, { timeout: TIMEOUT_MS }))
    bench.adopt(() => nats.close())
    return nats
  }

  /** A fresh source with its stream (declared by the transport), deleted after `work`. */
  async withSource<T>(tag: string, work: (source: string) => Promise<T>): Promise<T> {
    const source = `bench.relay_${process.pid}_${Date.now().toString(36)}_${++this.counter}_${tag}`
    this.live.add(source)
    await this.transport.declare(source)
    try {
      return await work(source)
    } finally {
      await this.drop(source)
    }
  }

  async messages(source: string): Promise<number> {
    return (await this.jsm.streams.info(streamName(source))).state.messages
  }

  private async drop(source: string): Promise<void> {
    this.live.delete(source)
    await this.jsm.streams.delete(streamName(source)).catch((error: unknown) => {
      console.error(`could not delete stream ${streamName(source)}:`, error)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const source of [...this.live]) await this.drop(source)
    await this.transport.close()
    await this.nc.close()
  }
}

/**
 * Figure 14 on PostgreSQL (the bench's server, a fresh schema, a 2-connection pool for the relay and its
 * feed), then 14e on a PGlite of its own on disk. Skipped with a warning when no NATS server answers.
 */
export async function relayBench(bench: Workbench, report: Report): Promise<void> {
  let version: string | undefined
  try {
    const probe = await connect({ servers: NATS_URL, name: 'tidings-bench-probe', timeout: TIMEOUT_MS })
    version = probe.info?.version
    await probe.close()
  } catch (error) {
    console.warn(`     SKIPPED: no NATS server at ${NATS_URL} (${String(error)})`)
    return
  }
  report.detail(`relay: NATS server ${version ?? '?'} at ${NATS_URL} (JetStream, file storage); ${PARTITIONS} partitions, maxInFlight ${MAX_IN_FLIGHT}`)
  const db = bench.pool(2, APPLICATION)
  await relayThroughput(bench, report, 'postgres', db, SERVER_EVENTS)
  await bench.release(db)
  await relayThroughput(bench, report, 'pglite', await bench.pglite(), EMBEDDED_EVENTS)
}
