import { comparePositions, NOT_FOLLOWED, partitionSource, START, silentLogger, uuidv7, type FeedLag, type Logger, type Position, type Transport } from '@tidings/core'
import type { Queryable } from '../database/database'
import type { Follower, FollowerStatus, SourceProgress } from './follower'
import { Lease } from '../leadership/lease'
import { afterReset, forgetForRebuild } from './rebuild'
import { schemaName } from '../database/sql'
import { Subscription, type SubscriptionOptions } from './subscription'

export interface PartitionedSubscriptionOptions extends Omit<SubscriptionOptions, 'feeds' | 'leaseName' | 'mayLead' | 'instanceId'> {
  transport: Transport
  /** The sources to follow; default the consumer's `follows`. */
  sources?: readonly string[]
  instanceId?: string
}

/**
 * A consumer of partitioned sources, one of any number of competing instances. Every partition of every
 * source is a `Subscription` of its own with its own lease, so one instance at a time applies it, in
 * order. Instances announce themselves with a membership lease; each leads at most its fair share
 * (⌈partitions / live instances⌉) and hands back what is over it when another instance joins, so the
 * partitions spread out; when one leaves, its leases expire and the others take them over.
 *
 * Progress is told in producer positions, like a `Subscription`'s: a source has been applied up to the
 * furthest position that every one of its partitions has reached (the relay's watermarks move partitions
 * that had no events), whichever instance applies them — so consistency tokens work unchanged.
 */
export class PartitionedSubscription implements Follower {
  readonly name: string
  readonly instanceId: string
  readonly parts: readonly Subscription[]
  private readonly membership: Lease
  private readonly logger: Logger
  private share = Number.POSITIVE_INFINITY
  private timer?: NodeJS.Timeout
  private balancing?: Promise<void>
  private renewal?: Promise<boolean>

  readonly sources: readonly string[]

  constructor(private readonly options: PartitionedSubscriptionOptions) {
    const { transport, consumer } = options
    // A deferred consumer's progress depends on its pending inbox, which is not kept per partition.
    if (consumer.mode === 'deferred') throw new Error(`${consumer.name}: a deferred consumer cannot follow a partitioned transport`)
    this.name = consumer.name
    this.instanceId = options.instanceId ?? uuidv7()
    this.logger = options.logger ?? silentLogger
    const ttlMs = options.leaseTtlMs ?? 5_000
    this.membership = new Lease(options.db, options.schema, `member:${this.name}:${this.instanceId}`, this.instanceId, ttlMs)
    const sources = (this.sources = options.sources ?? consumer.follows)
    this.parts = sources.flatMap((source) =>
      Array.from(
        { length: transport.partitions },
        (_, p) =>
          new Subscription({
            ...options,
            feeds: [transport.partition(source, p, consumer.name)],
            instanceId: this.instanceId,
            leaseName: `subscription:${this.name}#${source}#${p}`,
            mayLead: () => this.leading() < this.share,
            // A message waits for positions of whole sources, however their partitions are spread.
            applied: async (named, via) => (this.sources.includes(named) ? this.processedPosition(named, via) : NOT_FOLLOWED),
          }),
      ),
    )
  }

  get schema(): string {
    return this.options.schema
  }

  get mode(): 'inline' | 'deferred' {
    return 'inline'
  }

  start(): void {
    if (this.timer) return
    const tick = () => {
      // The membership is renewed on every tick, also while a hand-back still waits for a page to end.
      const renewal = (this.renewal ??= this.membership.acquire().finally(() => (this.renewal = undefined)))
      renewal.catch(() => {}) // seen by the balancing that follows it
      this.balancing ??= renewal
        .then(() => this.balance())
        .catch((error: unknown) => this.logger.warn({ err: error, subscription: this.name }, 'rebalancing failed, retrying'))
        .finally(() => (this.balancing = undefined))
    }
    tick()
    this.timer = setInterval(tick, Math.max(50, (this.options.leaseTtlMs ?? 5_000) / 3))
    for (const part of this.parts) part.start()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.balancing
    await this.renewal?.catch(() => false) // else it could announce this instance again after the release
    await Promise.all(this.parts.map((p) => p.stop()))
    await this.membership.release().catch(() => {})
  }

  /** How many partitions this instance applies now. */
  leading(): number {
    return this.parts.filter((p) => p.isActive()).length
  }

  /** True when this instance applies every partition, so it hears of all progress (see `onProgress`). */
  isActive(): boolean {
    return this.parts.every((p) => p.isActive())
  }

  /** Grows whenever any partition is taken (again): between two equal counts this instance lost none. */
  activations(): number {
    return this.parts.reduce((sum, p) => sum + p.activations(), 0)
  }

  /** How far in the producer's outbox every partition of `source` has been applied, by any instance. */
  async processedPosition(source: string, via: Queryable = this.options.db): Promise<Position> {
    const reachedBy = (p: number) => this.partOf(source, p).processedSourcePosition(partitionSource(source, p), via)
    const partitions = Array.from({ length: this.options.transport.partitions }, (_, p) => p)
    const reached: Array<Position | undefined> = []
    // A transaction takes one statement at a time: ask it partition after partition.
    if (via === this.options.db) reached.push(...(await Promise.all(partitions.map(reachedBy))))
    else for (const p of partitions) reached.push(await reachedBy(p))
    return lowestSourcePosition(reached)
  }

  async hasProcessed(source: string, position: Position): Promise<boolean> {
    return comparePositions(await this.processedPosition(source), position) >= 0
  }

  /** Called after every page a partition applied in this instance (other instances' progress is polled). */
  onProgress(listener: () => void): () => void {
    const offs = this.parts.map((part) => part.onProgress(listener))
    return () => offs.forEach((off) => off())
  }

  status(): FollowerStatus {
    const parts = this.parts.map((p) => p.status())
    return {
      name: this.name,
      instanceId: this.instanceId,
      active: parts.some((p) => p.active),
      positions: Object.assign({}, ...parts.map((p) => p.positions)) as Record<string, Position>,
      perSecond: parts.reduce((sum, p) => sum + p.perSecond, 0),
    }
  }

  async lag(): Promise<Record<string, FeedLag>> {
    return Object.fromEntries((await this.progress()).map(({ source, lag }) => [source, lag]))
  }

  /** Per source, in producer positions; its lag is what its partitions have left together. */
  progress(): Promise<SourceProgress[]> {
    return Promise.all(
      this.sources.map(async (source) => {
        const parts = Array.from({ length: this.options.transport.partitions }, (_, p) => this.partOf(source, p))
        const lags = (await Promise.all(parts.map((part) => part.lag()))).flatMap((lag) => Object.values(lag))
        const oldest = lags.flatMap((l) => (l.oldestUnreadAt ? [l.oldestUnreadAt] : [])).sort((a, b) => a.getTime() - b.getTime())[0]
        const lag: FeedLag = { events: lags.reduce((sum, l) => sum + l.events, 0), ...(oldest ? { oldestUnreadAt: oldest } : {}) }
        return { source, position: await this.processedPosition(source), lag }
      }),
    )
  }

  /** The instances that apply its partitions now, in any process. */
  async leaseHolder(): Promise<string | undefined> {
    const holders = new Set((await Promise.all(this.parts.map((p) => p.leaseHolder()))).filter((h) => h !== undefined))
    return holders.size === 0 ? undefined : [...holders].sort().join(', ')
  }

  /** Dead letters are the consumer's, whichever partition they came from: any partition can replay them. */
  async replay(deadLetterId: string): Promise<boolean> {
    return (await this.parts[0]?.replay(deadLetterId)) ?? false
  }

  /**
   * Rebuild: stops here, fences every partition off from every instance, forgets inbox, checkpoints and
   * read model in that one transaction, and starts again; every partition is then read from the start.
   */
  async reset(): Promise<void> {
    const wasRunning = this.timer !== undefined
    await this.stop()
    const { db, schema, consumer } = this.options
    await db.transaction(async (tx) => {
      for (const part of this.parts) await part.fence(tx)
      await forgetForRebuild(tx, schema, consumer)
    })
    afterReset(consumer)
    if (wasRunning) this.start()
    else await Promise.all(this.parts.map((p) => p.unfence()))
  }

  private partOf(source: string, partition: number): Subscription {
    const part = this.parts[this.sources.indexOf(source) * this.options.transport.partitions + partition]
    if (!part || !this.sources.includes(source)) throw new RangeError(`${this.name} does not follow ${source}`)
    return part
  }

  /** Recomputes the fair share (this instance's membership just renewed) and hands back what is over it. */
  private async balance(): Promise<void> {
    const members = await liveMembers(this.options.db, this.options.schema, this.name)
    this.share = Math.ceil(this.parts.length / Math.max(1, members))
    const over = this.parts.filter((p) => p.isActive()).slice(this.share)
    // A restarted part releases its lease (after its page in flight) and competes again behind the gate.
    await Promise.all(over.map(async (part) => {
      await part.stop()
      part.start()
    }))
  }
}

/** How far every partition has come: the lowest of their producer positions (one that has none yet: START). */
export function lowestSourcePosition(reached: ReadonlyArray<Position | undefined>): Position {
  let lowest: Position = reached[0] ?? START
  for (const at of reached) {
    if (at === undefined) return START
    if (comparePositions(at, lowest) < 0) lowest = at
  }
  return lowest
}

async function liveMembers(db: Queryable, schema: string, consumer: string): Promise<number> {
  const result = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${schemaName(schema)}.leases WHERE name LIKE $1 AND expires_at > clock_timestamp()`,
    [`member:${consumer.replace(/[\\%_]/g, (c) => `\\${c}`)}:%`],
  )
  return Number(result.rows[0]!.n)
}
