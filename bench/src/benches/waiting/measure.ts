import { readFileSync } from 'node:fs'
import { cpuMsOf } from '../../lib/cpu'
import { SCALE } from '../../lib/env'

/** Members in the spike and in the polled room: 100,000 (fewer in a smoke run, BENCH_SCALE < 1). */
export const CROWD = SCALE >= 1 ? 100_000 : Math.max(5_000, Math.round(100 * SCALE) * 1_000)
/** Members who join over HTTP in figure 21b (a fifth of the crowd: see spike.ts). */
export const HTTP_CROWD = CROWD / 5
/** Requests in flight at once in the spike, through the library and over HTTP. */
export const SPIKE_CONCURRENCY = 1_000

/** The processes whose CPU a phase is charged with: `this` (the bench process) and others by pid (from /proc). */
export type Pids = Record<string, number | undefined>

/** Starts counting the CPU time of these processes; the returned function gives each one's ms since. */
export function cpuSince(pids: Pids): () => Record<string, number> {
  const own = process.cpuUsage()
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid === undefined ? undefined : cpuMsOf(pid)]))
  return () => {
    const used = process.cpuUsage(own)
    const spent: Record<string, number> = { this: (used.user + used.system) / 1000 }
    for (const [name, pid] of Object.entries(pids)) {
      const end = pid === undefined ? undefined : cpuMsOf(pid)
      const start = before[name]
      spent[name] = end === undefined || start === undefined ? Number.NaN : end - start
    }
    return spent
  }
}

/** "server 120 + Redis 35 µs" for the named shares of `ms` spread over `ops` (unknown ones left out). */
export function perOp(spent: Record<string, number>, ops: number, names: Record<string, string>): string {
  const parts = Object.entries(names)
    .filter(([key]) => Number.isFinite(spent[key]))
    .map(([key, label]) => `${label} ${((spent[key]! * 1000) / ops).toFixed(0)}`)
  return `${parts.join(' + ')} µs`
}

/** Headers a bare server should send to answer like the app: all but those Node adds itself. */
export function headersOf(rawHeaders: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name.toLowerCase())) headers[name] = rawHeaders[i + 1]!
  }
  return headers
}

/** The nearest-rank p-th percentile from below (p5: 95 % of the samples are at least this). */
export function lowPercentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`
}

/** Connections the kernel dropped since boot because a listening socket's accept queue was full (TcpExt ListenOverflows). */
export function listenOverflows(): number {
  try {
    const [names, values] = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:')).map((l) => l.trim().split(/\s+/))
    return Number(values?.[names?.indexOf('ListenOverflows') ?? -1] ?? Number.NaN)
  } catch {
    return Number.NaN
  }
}
