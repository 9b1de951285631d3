import type { Database } from '@tidings/postgres'
import { rawPublish, type RunningBroker } from '../../lib/brokers'
import { backendsOf, CpuMeter } from '../../lib/cpu'
import { seconds } from '../../lib/env'
import { alternate, type Throughput } from '../../lib/load'
import type { Workbench } from '../../lib/workbench'
import type { Backlog } from './backlog'
import { PageProfile } from './page-profile'
import { relayFor, relayOnce } from './relay-run'
import { APPLICATION, MAX_IN_FLIGHT, type Engine } from './settings'

/** One send per confirm (as NatsPublisher did inside a page), or wait for half the window and refill it at once (as the publishers do now). */
const ONE_PER_CONFIRM = MAX_IN_FLIGHT - 1
const BURSTS = MAX_IN_FLIGHT / 2

/** What the NATS rounds measured: the raw windows and the relay alternating, then once the relay with batchSize 2,000. */
export interface NatsRounds {
  rates: Record<'window' | 'relay' | 'bursts', Throughput>
  relay2000: Throughput
  rounds: Rounds
}

/** What a RabbitMQ or Redis round measured: the raw client in bursts and the relay, alternating. */
export interface BrokerRounds {
  rates: Record<'raw' | 'relay', Throughput>
  rounds: Rounds
}

/**
 * Figure 14's rounds: warm-ups (both raw windows 0.5 s, a relay stopped after 1 s), then raw window, relay
 * (batchSize 500), raw bursts, twice; then once the relay with batchSize 2,000 over the first half of the
 * outbox, stopping on a page boundary.
 */
export async function natsRounds(bench: Workbench, engine: Engine, db: Database, outbox: Backlog, broker: RunningBroker): Promise<NatsRounds> {
  const rounds = new Rounds(bench, engine, db, outbox, broker)
  try {
    await rounds.warmUp([ONE_PER_CONFIRM, BURSTS])
    const rates = await alternate(2, {
      window: () => rounds.raw('window', ONE_PER_CONFIRM),
      relay: () => rounds.relay('relay', 500),
      bursts: () => rounds.raw('bursts', BURSTS),
    })
    const events = outbox.envelopes.length
    const relay2000 = await rounds.relay('relay2000', 2_000, Math.max(2_000, Math.floor(events / 2 / 2_000) * 2_000))
    return { rates, relay2000, rounds }
  } finally {
    await broker.close()
  }
}

/** Figures 14r and 14s: a warm-up (raw 0.5 s, a relay stopped after 1 s), then raw (in bursts), relay, twice. */
export async function brokerRounds(bench: Workbench, engine: Engine, db: Database, outbox: Backlog, broker: RunningBroker): Promise<BrokerRounds> {
  const rounds = new Rounds(bench, engine, db, outbox, broker)
  try {
    await rounds.warmUp([BURSTS])
    const rates = await alternate(2, {
      raw: () => rounds.raw('raw', BURSTS),
      relay: () => rounds.relay('relay', 500),
    })
    return { rates, rounds }
  } finally {
    await broker.close()
  }
}

/**
 * The phases of one broker's rounds on one engine's outbox, each on a fresh source, each phase's CPU per
 * event (this process, the broker's server, the PostgreSQL backends) and relay's time per page kept by name.
 */
export class Rounds {
  private readonly meters = new Map<string, CpuMeter>()
  private readonly profiles = new Map<string, PageProfile>()
  private readonly backends: () => Promise<number[]>

  constructor(
    bench: Workbench,
    private readonly engine: Engine,
    private readonly db: Database,
    private readonly outbox: Backlog,
    private readonly broker: RunningBroker,
  ) {
    this.backends = engine === 'postgres' ? () => backendsOf(bench.admin, APPLICATION) : async () => []
  }

  /** Each raw window 0.5 s, then a relay stopped after 1 s: the client library's and the relay's code paths get compiled. */
  async warmUp(refills: number[]): Promise<void> {
    for (const refillAt of refills) await this.broker.withSource('warmup', (source) => this.publishRaw(source, seconds(0.5), refillAt))
    await this.broker.withSource('warmup', (source) => relayFor(this.db, this.outbox.schema, source, this.broker.transport.publisher(), seconds(1)))
  }

  /** The raw client alone for 2 s, at most MAX_IN_FLIGHT unconfirmed, refilled once only `refillAt` remain. */
  raw(phase: string, refillAt: number): Promise<Throughput> {
    return this.cpu(phase).measure(async () => [], () => this.broker.withSource(phase, (source) => this.publishRaw(source, seconds(2), refillAt)))
  }

  /** The relay from START until its `events`-th event (all, by default) is confirmed. */
  relay(phase: string, batchSize: number, events = this.outbox.envelopes.length): Promise<Throughput> {
    return this.cpu(phase).measure(this.backends, () =>
      this.broker.withSource(phase, (source) => {
        const publisher = this.broker.transport.publisher()
        const last = this.outbox.envelopes[events - 1]!.position!
        return relayOnce((s) => this.broker.stored(s), this.db, this.outbox.schema, source, publisher, batchSize, last, events, this.profile(phase))
      }),
    )
  }

  cpu(phase: string): CpuMeter {
    const meter = this.meters.get(phase) ?? new CpuMeter(this.broker.server)
    this.meters.set(phase, meter)
    return meter
  }

  profile(phase: string): PageProfile {
    const profile = this.profiles.get(phase) ?? new PageProfile()
    this.profiles.set(phase, profile)
    return profile
  }

  /** "PostgreSQL" where the backends' CPU is counted (on PGlite it is this process's). */
  get database(): string | undefined {
    return this.engine === 'postgres' ? 'PostgreSQL' : undefined
  }

  private publishRaw(source: string, ms: number, refillAt: number): Promise<Throughput> {
    return rawPublish(this.outbox.envelopes, source, this.broker.sender(source), ms, MAX_IN_FLIGHT, refillAt)
  }
}
