import { cpus, loadavg } from 'node:os'

/** The PostgreSQL server to measure; every run works in its own schemas and drops them afterwards. */
export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Scales every timed phase: `BENCH_SCALE=0.2 npm run bench` is a smoke run, 2 a steadier one. */
export const SCALE = positiveNumber(process.env.BENCH_SCALE, 1)

/** Concurrent writers in every throughput figure, and the writer pool size. */
export const CLIENTS = 16

/** A phase's duration in milliseconds, scaled. */
export function seconds(s: number): number {
  return Math.max(250, Math.round(s * 1000 * SCALE))
}

export function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}, ${loadAverage()}`
}

/** "load avg 1.20/0.95" (1 and 5 minutes): printed with figures measured on the shared machine. */
export function loadAverage(): string {
  const [one, five] = loadavg()
  return `load avg ${one!.toFixed(2)}/${five!.toFixed(2)}`
}

function positiveNumber(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`Not a positive number: ${raw}`)
  return value
}
