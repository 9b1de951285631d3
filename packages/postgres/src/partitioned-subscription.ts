import { silentLogger, uuidv7, type Logger, type Transport } from '@tidings/core'
import type { Queryable } from './database'
import { Lease } from './lease'
import { schemaName } from './sql'
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
 */
export class PartitionedSubscription {
  readonly name: string
  readonly instanceId: string
  readonly parts: readonly Subscription[]
  private readonly membership: Lease
  private readonly logger: Logger
  private share = Number.POSITIVE_INFINITY
  private timer?: NodeJS.Timeout
  private balancing?: Promise<void>

  constructor(private readonly options: PartitionedSubscriptionOptions) {
    const { transport, consumer } = options
    this.name = consumer.name
    this.instanceId = options.instanceId ?? uuidv7()
    this.logger = options.logger ?? silentLogger
    const ttlMs = options.leaseTtlMs ?? 5_000
    this.membership = new Lease(options.db, options.schema, `member:${this.name}:${this.instanceId}`, this.instanceId, ttlMs * 2)
    const sources = options.sources ?? consumer.follows
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
          }),
      ),
    )
  }

  start(): void {
    if (this.timer) return
    const tick = () => {
      this.balancing ??= this.balance()
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
    await Promise.all(this.parts.map((p) => p.stop()))
    await this.membership.release().catch(() => {})
  }

  /** How many partitions this instance applies now. */
  leading(): number {
    return this.parts.filter((p) => p.isActive()).length
  }

  /** Renews this instance's membership, recomputes the fair share and hands back what is over it. */
  private async balance(): Promise<void> {
    await this.membership.acquire()
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

async function liveMembers(db: Queryable, schema: string, consumer: string): Promise<number> {
  const result = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${schemaName(schema)}.leases WHERE name LIKE $1 AND expires_at > clock_timestamp()`,
    [`member:${consumer.replace(/[\\%_]/g, (c) => `\\${c}`)}:%`],
  )
  return Number(result.rows[0]!.n)
}
