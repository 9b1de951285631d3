import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { readdirSync, readFileSync } from 'node:fs'
import { comparePositions, partitionOf, START, type Envelope, type FeedPage, type Position, type Publisher, type ReadOptions, type Transport } from '@tidings/core'
import { natsTransport, partitionSubject, streamName, type NatsTransport } from '@tidings/nats'
import { rabbitmqTransport } from '@tidings/rabbitmq'
import { redisTransport, streamKey } from '@tidings/redis'
import { Redis } from 'ioredis'
import { Connection as RabbitConnection } from 'rabbitmq-client'
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
 *
 * Figures 14r and 14s (14re, 14se on PGlite): the same outbox relayed to RabbitMQ stream queues and to
 * Redis Streams, each against the raw publish rate of its own client library (rabbitmq-client's
 * `basicPublish` with confirms; ioredis' XADD) at the same window, refilled in bursts as both publishers
 * do, alternating twice (see `brokerRelayThroughput`). The outbox is written once per engine for all
 * three brokers.
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

/** The outbox the relay rounds of one engine publish. */
interface Backlog {
  schema: string
  /** Its events, as the feed reads them: what the raw ceilings publish. */
  envelopes: Envelope[]
  /** Client CPU per event of reading the outbox alone, in the relay's pages (µs). */
  readUs: number
}

/** Writes an outbox of `events` on one engine and reads it back, the second time timing the relay's read. */
async function backlog(bench: Workbench, engine: Engine, db: Database, events: number): Promise<Backlog> {
  const schema = engine === 'postgres' ? await bench.serverSchema('relay') : await bench.embeddedSchema(db, 'relay')
  const written = performance.now()
  await writeBacklog(db, schema, events)
  // The relay's own envelopes, for the raw ceilings: read once through the same feed.
  const feed = new OutboxFeed(db, schema, 'bench.relay')
  const envelopes = await readAll(feed, events, 5_000)
  if (envelopes.length !== events) throw new Error(`outbox holds ${envelopes.length} events, expected ${events}`)
  const bytes = envelopes.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0)
  console.log(`     (outbox: ${events.toLocaleString('en-US')} events written and read back in ${((performance.now() - written) / 1000).toFixed(1)} s; ${(bytes / events).toFixed(0)} bytes of JSON each)`)
  // What the relay's read costs this process, warm: the outbox again in its pages of 500.
  const cpu = process.cpuUsage()
  await readAll(feed, events, 500)
  const used = process.cpuUsage(cpu)
  return { schema, envelopes, readUs: (used.user + used.system) / events }
}

async function relayThroughput(bench: Workbench, report: Report, engine: Engine, db: Database, schema: string, envelopes: Envelope[]): Promise<void> {
  const nats = await NatsBench.open(bench)
  const events = envelopes.length
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
        return relayOnce((source) => nats.messages(source), db, schema, source, publisher, batchSize, envelopes[count - 1]!.position!, count, profiles[phase])
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
  stored: (source: string) => Promise<number>,
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
  const count = await stored(source)
  // The relay stops after the pages out: up to two pages more than counted (and their watermarks).
  if (count < events || count > events + 2 * batchSize + PARTITIONS * Math.ceil(events / batchSize + 2)) {
    throw new Error(`the broker holds ${count} messages of ${source}, expected ${events}`)
  }
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


/**
 * The outbox's `count` events. Waits while the feed holds them back: a transaction of another session on
 * the shared server keeps the feed's horizon behind it (see "Cost of the horizon"), up to a minute.
 */
async function readAll(feed: OutboxFeed, count: number, pageSize: number): Promise<Envelope[]> {
  const all: Envelope[] = []
  let after: Position = START
  const deadline = performance.now() + 60_000
  while (all.length < count && performance.now() < deadline) {
    const page = await feed.read(after, pageSize, { waitMs: 1_000 })
    for (const e of page.items) all.push(e)
    after = page.next
  }
  return all
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
  startupMs = 0
  rounds = 0
  private startAt = 0
  private first = true

  started(at: number): void {
    this.startAt = at
    this.rounds++
    this.first = true
  }

  reading(at: number): void {
    if (this.first) {
      this.startupMs += at - this.startAt
      this.first = false
    }
  }

  read(ms: number, items: number): void {
    if (items > 0) this.readMs += ms
  }

  published(ms: number, items: number): void {
    this.pages++
    this.events += items
    this.publishMs += ms
  }

  summary(batch: number, rawPerSecond: number): string {
    const per = (ms: number) => formatMs(ms / this.pages)
    const atRaw = (batch * 1000) / rawPerSecond
    // The relay reads the next page and saves the last one while a page awaits its confirms: these overlap.
    return (
      `${this.pages} pages; per page, overlapping: outbox read ${per(this.readMs)}, publish until confirmed ${per(this.publishMs)} ` +
      `(the raw rate sends a page in ${formatMs(atRaw)}); start to first read ${formatMs(this.startupMs / this.rounds)} per round`
    )
  }
}

/**
 * CPU per event, split by process: this one (client: the relay, its feed and the broker's client; PGlite
 * runs here too), the broker's server and the PostgreSQL backends (both read from /proc, so only when they
 * run on this machine).
 */
class Cpu {
  private client = 0
  private server = 0
  private postgres = 0
  private events = 0
  private serverKnown: boolean

  constructor(
    private readonly serverPid: number | undefined = NATS_PID,
    private readonly serverName = 'NATS server',
  ) {
    this.serverKnown = serverPid !== undefined
  }

  async measure(backends: () => Promise<number[]>, work: () => Promise<Throughput>): Promise<Throughput> {
    const pids = await backends()
    const before = pids.map((pid) => cpuMsOf(pid) ?? 0)
    const serverBefore = this.serverPid === undefined ? undefined : cpuMsOf(this.serverPid)
    const clientBefore = process.cpuUsage()
    const result = await work()
    const client = process.cpuUsage(clientBefore)
    const serverAfter = this.serverPid === undefined ? undefined : cpuMsOf(this.serverPid)
    // Backends that closed meanwhile count as 0: the pool keeps its connections open for the round.
    this.postgres += pids.reduce((n, pid, i) => n + Math.max(0, (cpuMsOf(pid) ?? before[i]!) - before[i]!), 0)
    if (serverBefore === undefined || serverAfter === undefined) this.serverKnown = false
    else this.server += serverAfter - serverBefore
    this.client += (client.user + client.system) / 1000
    this.events += result.ops
    return result
  }

  /** This process's CPU per event (µs). */
  clientPerEvent(): number {
    return (this.client * 1000) / this.events
  }

  perEvent(database?: string): string {
    const us = (ms: number) => ((ms * 1000) / this.events).toFixed(0)
    const parts = [`client ${us(this.client)}`, this.serverKnown ? `${this.serverName} ${us(this.server)}` : `${this.serverName} unknown`]
    if (database) parts.push(`${database} ${us(this.postgres)}`)
    const total = this.client + (this.serverKnown ? this.server : 0) + (database ? this.postgres : 0)
    return `${parts.join(' + ')} = ${us(total)} µs`
  }
}

/**
 * A server's process when it runs on this machine (for its CPU time), else undefined: the one process
 * named `comm` that `ours` recognises by its command line, or the only process of that name.
 */
function serverProcess(comm: string, ours: (args: string[]) => boolean): number | undefined {
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
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue
      servers.push({ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') })
    } catch {
      // gone, or not ours to see
    }
  }
  const matching = servers.filter((s) => ours(s.args))
  return (matching.length === 1 ? matching[0] : servers.length === 1 ? servers[0] : undefined)?.pid
}

const NATS_PID = serverProcess('nats-server', (args) => {
  const port = new URL(NATS_URL).port || '4222'
  return args.some((a, i) => a === port && ['-p', '--port'].includes(args[i - 1] ?? ''))
})

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

  get deduplicates(): boolean {
    return this.inner.deduplicates
  }

  async publish(source: string, events: readonly Envelope[]): Promise<void> {
    const start = performance.now()
    await this.inner.publish(source, events)
    this.profile.published(performance.now() - start, events.length)
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

const RABBITMQ_URL = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const BENCH_PREFIX = `tidings-bench-${process.pid}`

/**
 * A broker beside NATS in figure 14: its transport (publisher, declare) and a raw client of the same
 * library for the ceiling, at the same window (MAX_IN_FLIGHT outstanding, refilled in bursts at half, as
 * both publishers do), and the count of what a source's partitions hold.
 */
interface OtherBroker {
  readonly id: string
  readonly name: string
  /** What the raw ceiling calls, for the figure. */
  readonly raw: string
  readonly transport: Transport
  readonly cpu: () => Cpu
  rawPublish(source: string, envelopes: Envelope[], ms: number): Promise<Throughput>
  stored(source: string): Promise<number>
  drop(source: string): Promise<void>
  close(): Promise<void>
}

type OpenBroker = (bench: Workbench) => Promise<OtherBroker>

/** The brokers that answer, each with a detail line; the others are skipped with a warning. */
async function otherBrokers(report: Report): Promise<OpenBroker[]> {
  const open: OpenBroker[] = []
  const rabbit = new RabbitConnection({ url: RABBITMQ_URL, connectionTimeout: TIMEOUT_MS })
  rabbit.on('error', () => {})
  try {
    await rabbit.onConnect(TIMEOUT_MS)
    report.detail(`relay: RabbitMQ at ${RABBITMQ_URL.replace(/\/\/[^@]*@/, '//')} (stream queues); rabbitmq-client 5.0.8, confirms, ${PARTITIONS} partitions, maxInFlight ${MAX_IN_FLIGHT}`)
    open.push(openRabbitBroker)
  } catch (error) {
    console.warn(`     SKIPPED RabbitMQ: no server at ${RABBITMQ_URL} (${String(error)})`)
  } finally {
    await rabbit.close()
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?'
    report.detail(`relay: Redis ${version} at ${REDIS_URL} (streams, as configured: the shared server keeps nothing on disk); ioredis, ${PARTITIONS} partitions, maxInFlight ${MAX_IN_FLIGHT}`)
    open.push(openRedisBroker)
  } catch (error) {
    console.warn(`     SKIPPED Redis: no server at ${REDIS_URL} (${String(error)})`)
  } finally {
    redis.disconnect()
  }
  return open
}

/** Figure 14r: RabbitMQ stream queues, raw `basicPublish` with confirms on a channel of the same client. */
async function openRabbitBroker(bench: Workbench): Promise<OtherBroker> {
  const transport = await rabbitmqTransport({ url: RABBITMQ_URL, partitions: PARTITIONS, maxInFlight: MAX_IN_FLIGHT, timeoutMs: TIMEOUT_MS, prefix: BENCH_PREFIX, name: 'tidings-bench-relay' })
  const raw = new RabbitConnection({ url: RABBITMQ_URL, connectionName: 'tidings-bench-raw', frameMax: 131_072, noDelay: true })
  raw.on('error', () => {})
  const channel = await raw.acquire()
  await channel.confirmSelect()
  const pid = serverProcess('beam.smp', (args) => args.some((a, i) => a === '/var/lib/rabbitmq' && args[i - 1] === '-home'))
  const queues = (source: string) => Array.from({ length: PARTITIONS }, (_, p) => transport.queueOf(source, p))
  const broker: OtherBroker = {
    id: '14r',
    name: 'RabbitMQ streams',
    raw: 'raw basicPublish',
    transport,
    cpu: () => new Cpu(pid, 'RabbitMQ'),
    rawPublish: (source, envelopes, ms) => {
      const targets = queues(source)
      return rawBursts(envelopes, source, ms, (e) =>
        channel.basicPublish({ routingKey: targets[partitionOf(e.key, PARTITIONS)]!, mandatory: true, durable: true, messageId: e.id, type: e.type }, Buffer.from(JSON.stringify(e))),
      )
    },
    stored: async (source) => {
      const lags = await Promise.all(queues(source).map((_, p) => transport.partition(source, p, 'bench').lag(START)))
      return lags.reduce((n, lag) => n + lag.events, 0)
    },
    drop: async (source) => {
      for (const queue of queues(source)) await raw.queueDelete({ queue }).catch((error: unknown) => console.error(`could not delete queue ${queue}:`, error))
    },
    close: once(async () => {
      await channel.close()
      await raw.close()
      await transport.close()
    }),
  }
  bench.adopt(() => broker.close())
  return broker
}

/** Figure 14s: Redis Streams, raw XADD (pipelined, no MULTI) on a connection of the same client. */
async function openRedisBroker(bench: Workbench): Promise<OtherBroker> {
  const transport = await redisTransport({ url: REDIS_URL, partitions: PARTITIONS, maxInFlight: MAX_IN_FLIGHT, prefix: BENCH_PREFIX })
  const raw = new Redis(REDIS_URL, { connectionName: 'tidings-bench-raw' })
  raw.on('error', () => {})
  const port = new URL(REDIS_URL).port || '6379'
  const pid = serverProcess('redis-server', (args) => args.join(' ').includes(`:${port}`))
  const keys = (source: string) => Array.from({ length: PARTITIONS }, (_, p) => streamKey(BENCH_PREFIX, source, p))
  const broker: OtherBroker = {
    id: '14s',
    name: 'Redis Streams',
    raw: 'raw XADD',
    transport,
    cpu: () => new Cpu(pid, 'Redis'),
    rawPublish: (source, envelopes, ms) => {
      const targets = keys(source)
      return rawBursts(envelopes, source, ms, (e) => raw.xadd(targets[partitionOf(e.key, PARTITIONS)]!, '*', 'e', JSON.stringify(e), 'id', e.id))
    },
    stored: async (source) => (await Promise.all(keys(source).map((key) => raw.xlen(key)))).reduce((n, length) => n + length, 0),
    drop: async (source) => {
      await raw.del(...keys(source))
    },
    close: once(async () => {
      raw.disconnect()
      await transport.close()
    }),
  }
  bench.adopt(() => broker.close())
  return broker
}

/** `close` for both the round's end and the bench's cleanup: the first call closes, later ones wait for it. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => (closing ??= close())
}

/**
 * A raw ceiling in bursts: the client library alone, as the publisher uses it, at most MAX_IN_FLIGHT
 * unconfirmed; when the window is full, wait until half of it is confirmed, then refill it. Stops at the
 * deadline or when every envelope was sent.
 */
async function rawBursts(envelopes: Envelope[], source: string, ms: number, send: (e: Envelope) => Promise<unknown>): Promise<Throughput> {
  for (const e of envelopes) e.source = source
  const window: Array<Promise<unknown>> = []
  const start = performance.now()
  const deadline = start + ms
  let sent = 0
  while (sent < envelopes.length && performance.now() < deadline) {
    if (window.length >= MAX_IN_FLIGHT) while (window.length > MAX_IN_FLIGHT / 2) await window.shift()!
    window.push(send(envelopes[sent++]!))
  }
  while (window.length > 0) await window.shift()!
  const elapsed = performance.now() - start
  return { ops: sent, ms: elapsed, perSecond: (sent * 1000) / elapsed }
}

/**
 * Figures 14r and 14s (14re, 14se on PGlite): the relay to RabbitMQ or Redis against the raw publish rate
 * of the same client library at the same window, alternating twice (after a warm-up of both); every round
 * publishes to a fresh source whose queues or streams are deleted afterwards.
 */
async function brokerRelayThroughput(bench: Workbench, report: Report, engine: Engine, db: Database, { schema, envelopes, readUs }: Backlog, broker: OtherBroker): Promise<void> {
  const events = envelopes.length
  let counter = 0
  const withSource = async <T>(tag: string, work: (source: string) => Promise<T>): Promise<T> => {
    const source = `bench.relay_${process.pid}_${Date.now().toString(36)}_${++counter}_${tag}`
    await broker.transport.declare(source)
    try {
      return await work(source)
    } finally {
      await broker.drop(source)
    }
  }
  const cpu = { raw: broker.cpu(), relay: broker.cpu() }
  const profile = new PageProfile()
  const backends = engine === 'postgres' ? () => backendsOf(bench.admin, APPLICATION) : async () => []
  try {
    await withSource('warmup', (source) => broker.rawPublish(source, envelopes, seconds(0.5)))
    await withSource('warmup', (source) => relayFor(db, schema, source, broker.transport.publisher(), seconds(1)))
    const result = await alternate(2, {
      raw: () => cpu.raw.measure(async () => [], () => withSource('raw', (source) => broker.rawPublish(source, envelopes, seconds(2)))),
      relay: () =>
        cpu.relay.measure(backends, () =>
          withSource('relay', (source) => relayOnce((s) => broker.stored(s), db, schema, source, broker.transport.publisher(), 500, envelopes.at(-1)!.position!, events, profile)),
        ),
    })
    const where = engine === 'postgres' ? 'PostgreSQL' : 'PGlite'
    const rate = result.relay.perSecond
    const ceiling = result.raw.perSecond
    report.add({
      id: `${broker.id}${engine === 'postgres' ? '' : 'e'}`,
      figure: `relay → ${broker.name}, outbox on ${where}, batchSize 500 (${PARTITIONS} partitions, ≤ ${MAX_IN_FLIGHT} in flight)`,
      value: formatRate(rate, 'events/s'),
      ceiling: `${broker.raw} ${formatRate(ceiling, 'events/s')}`,
      ratio: rate / ceiling,
      goal: '≥ 0.80',
      met: rate / ceiling >= 0.8,
    })
    const took = (t: Throughput) => `${t.ops} in ${(t.ms / 1000).toFixed(1)} s`
    const database = engine === 'postgres' ? 'PostgreSQL' : undefined
    report.detail(`relay ${where} → ${broker.name}: ${broker.raw} ${took(result.raw)}, relay ${took(result.relay)}; CPU per event: ${broker.raw} ${cpu.raw.perEvent()}; relay ${cpu.relay.perEvent(database)}`)
    const rawUs = cpu.raw.clientPerEvent()
    report.detail(
      `relay ${where} → ${broker.name}: reading the outbox alone costs this process ${readUs.toFixed(1)} µs per event; where the client's one thread is the limit, ` +
        `a relay that reads and publishes in it reaches at most ${broker.raw} client / (that + read) = ${rawUs.toFixed(1)} / ${(rawUs + readUs).toFixed(1)} = ${(rawUs / (rawUs + readUs)).toFixed(2)} of the raw rate`,
    )
    report.detail(`relay ${where} → ${broker.name} per page: ${profile.summary(500, ceiling)}`)
  } finally {
    await broker.close()
  }
}

/**
 * Figure 14 on PostgreSQL (the bench's server, a fresh schema, a 2-connection pool for the relay and its
 * feed), then 14e on a PGlite of its own on disk; on each, after NATS, RabbitMQ (14r) and Redis (14s).
 * A broker that does not answer is skipped with a warning.
 */
export async function relayBench(bench: Workbench, report: Report): Promise<void> {
  let version: string | undefined
  try {
    const probe = await connect({ servers: NATS_URL, name: 'tidings-bench-probe', timeout: TIMEOUT_MS })
    version = probe.info?.version ?? '?'
    await probe.close()
    report.detail(`relay: NATS server ${version} at ${NATS_URL} (JetStream, file storage); ${PARTITIONS} partitions, maxInFlight ${MAX_IN_FLIGHT}`)
  } catch (error) {
    console.warn(`     SKIPPED NATS: no server at ${NATS_URL} (${String(error)})`)
  }
  const others = await otherBrokers(report)
  for (const engine of ['postgres', 'pglite'] as const) {
    const db = engine === 'postgres' ? bench.pool(2, APPLICATION) : await bench.pglite()
    const outbox = await backlog(bench, engine, db, engine === 'postgres' ? SERVER_EVENTS : EMBEDDED_EVENTS)
    if (version !== undefined) await relayThroughput(bench, report, engine, db, outbox.schema, outbox.envelopes)
    for (const open of others) await brokerRelayThroughput(bench, report, engine, db, outbox, await open(bench))
    if (engine === 'postgres') await bench.release(db)
  }
}
