import type { FeedLag, Position } from '@tidings/core'

export interface FollowerStatus {
  name: string
  instanceId: string
  /** Whether this instance applies anything now (for a partitioned consumer: at least one partition). */
  active: boolean
  /** Per feed read (for a partitioned consumer: per partition, in broker positions), how far it is applied. */
  positions: Record<string, Position>
  /** Messages this instance applied per second, over the last ten seconds. */
  perSecond: number
}

/** How far a followed source is applied, in the producer's positions, and what is left. */
export interface SourceProgress {
  source: string
  position: Position
  lag: FeedLag
}

/**
 * A consumer following feeds, as hosts, metrics, the console and consistency waits see it: a
 * `Subscription` reading the producers' feeds, or a `PartitionedSubscription` reading them from a broker.
 * Positions are always the producers', so consistency tokens mean the same either way.
 */
export interface Follower {
  readonly name: string
  readonly instanceId: string
  /** The producers' sources it follows. */
  readonly sources: readonly string[]
  /** Where its inbox, checkpoints, leases and dead letters live. */
  readonly schema: string
  readonly mode: 'inline' | 'deferred'
  start(): void
  /** Finishes what is in flight, stops and hands its leases back. */
  stop(): Promise<void>
  /** Whether this instance alone applies everything, so that all progress is signalled here. */
  isActive(): boolean
  /**
   * How many times this instance has started applying (a lease taken, again after a loss): while it stays
   * active with the same count, nobody else applied anything. What it cached before may hold what another
   * instance changed since.
   */
  activations(): number
  status(): FollowerStatus
  /** How far `source` is applied, by any instance: from memory where this one applies it, else from checkpoints. */
  processedPosition(source: string): Promise<Position>
  hasProcessed(source: string, position: Position): Promise<boolean>
  /** Called after every page this instance committed. */
  onProgress(listener: () => void): () => void
  lag(): Promise<Record<string, FeedLag>>
  progress(): Promise<SourceProgress[]>
  /** The instances that apply it now, in any process; undefined when none does. */
  leaseHolder(): Promise<string | undefined>
  /** Applies a dead letter once more, after the fix, exactly once. */
  replay(deadLetterId: string): Promise<boolean>
  /** Rebuild: forget inbox and checkpoints, clear the read model, replay every source from the start. */
  reset(): Promise<void>
}
