import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Logger } from '@tidings/core'
import type { SagaObserver, SagaRunner } from '@tidings/postgres'

export interface SagaMetrics {
  /** Pass as `SagaRunnerOptions.observer`. */
  readonly observer: SagaObserver
  /** Sagas running, compensating or parked, per type, counted in the runner's database at every scrape. */
  watch(runner: Pick<SagaRunner, 'open'>): () => void
}

const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

/** Sagas started and ended (completed, compensated, failed) per type, step durations, and those in flight. */
export function sagaMetrics(registry: Registry, logger: Logger): SagaMetrics {
  const registers = [registry]
  const runners = new Set<Pick<SagaRunner, 'open'>>()
  const started = new Counter({ name: 'tidings_sagas_started_total', help: 'Sagas started, per type', labelNames: ['type'] as const, registers })
  const ended = new Counter({
    name: 'tidings_sagas_ended_total',
    help: 'Sagas that reached a final status (COMPLETED, COMPENSATED, FAILED), per type',
    labelNames: ['type', 'status'] as const,
    registers,
  })
  const stepDuration = new Histogram({
    name: 'tidings_saga_step_duration_seconds',
    help: 'From a step’s command to its reply, per saga type and step',
    labelNames: ['type', 'step'] as const,
    buckets: STEP_BUCKETS,
    registers,
  })
  new Gauge({
    name: 'tidings_sagas_open',
    help: 'Sagas in flight (RUNNING, COMPENSATING) or parked (FAILED), per type',
    labelNames: ['type', 'status'] as const,
    registers,
    async collect() {
      const counts = await Promise.all(
        [...runners].map((runner) =>
          runner.open().catch((error: unknown) => {
            logger.warn({ err: error }, 'metrics: counting open sagas failed')
            return []
          }),
        ),
      )
      this.reset()
      for (const { type, status, count } of counts.flat()) this.inc({ type, status }, count)
    },
  })
  return {
    observer: {
      started: (type) => started.inc({ type }),
      ended: (type, status) => ended.inc({ type, status }),
      stepDone: (type, step, ms) => stepDuration.observe({ type, step }, ms / 1000),
    },
    watch(runner) {
      runners.add(runner)
      return () => runners.delete(runner)
    },
  }
}
