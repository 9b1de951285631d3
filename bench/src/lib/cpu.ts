import { readdirSync, readFileSync } from 'node:fs'
import type { Database } from '@tidings/postgres'

/** A server process whose CPU a meter counts apart from the database's backends (a broker's), by the name its line shows. */
export interface ServerProcess {
  name: string
  /** Undefined when it does not run on this machine: its share is then unknown. */
  pid: number | undefined
}

/**
 * CPU time per operation, for this process (client), the database backends that did its work and, when
 * given one, a server process beside them (a broker). Wall-clock rates on a shared 2-core machine swing
 * with whatever else runs; CPU per transaction barely does, so it shows where a gap between two figures
 * comes from. Server time is read from /proc, so it is only available for servers on this machine.
 */
export class CpuMeter {
  private client = 0
  private backends = 0
  private server = 0
  private ops = 0
  private backendsKnown = true
  private sawBackends = false
  private serverKnown: boolean

  constructor(private readonly serverProcess?: ServerProcess) {
    this.serverKnown = serverProcess?.pid !== undefined
  }

  /**
   * Runs `work` (which returns its op count) and charges its CPU to this meter. `backends` lists the pids
   * serving it, asked before and after: a pool may open connections meanwhile, whose whole CPU time then
   * falls in the phase. Pass `async () => []` for in-process engines.
   */
  async measure<T extends { ops: number }>(backends: () => Promise<number[]>, work: () => Promise<T>): Promise<T> {
    const before = new Map((await backends()).map((pid) => [pid, cpuMsOf(pid)] as const))
    const watched = this.serverProcess?.pid
    const serverBefore = watched === undefined ? undefined : cpuMsOf(watched)
    const clientBefore = process.cpuUsage()
    const result = await work()
    const client = process.cpuUsage(clientBefore)
    const serverAfter = watched === undefined ? undefined : cpuMsOf(watched)
    const after = new Map([...before.keys()].map((pid) => [pid, cpuMsOf(pid)] as const))
    for (const pid of await backends()) if (!after.has(pid)) after.set(pid, cpuMsOf(pid))
    this.client += (client.user + client.system) / 1000
    for (const [pid, end] of after) {
      this.sawBackends = true
      const start = before.has(pid) ? before.get(pid) : 0
      if (end === undefined || start === undefined) this.backendsKnown = false
      else this.backends += end - start
    }
    if (serverBefore === undefined || serverAfter === undefined) this.serverKnown = false
    else this.server += serverAfter - serverBefore
    this.ops += result.ops
    return result
  }

  /** "client 240 + server 400 = 640 µs" per op, the server being the database's backends. */
  perOp(digits = 0): string {
    const client = (this.client * 1000) / this.ops
    if (!this.sawBackends) return `${client.toFixed(digits)} µs in process`
    if (!this.backendsKnown) return `client ${client.toFixed(digits)} µs (server unknown)`
    const server = (this.backends * 1000) / this.ops
    return `client ${client.toFixed(digits)} + server ${server.toFixed(digits)} = ${(client + server).toFixed(digits)} µs`
  }

  /**
   * "client 72 + NATS server 28 + PostgreSQL 5 = 105 µs" per op: this process, the server process, and
   * the backends under the database's name when one is given (a backend gone meanwhile counts as none).
   */
  byProcess(database?: string): string {
    const us = (ms: number) => ((ms * 1000) / this.ops).toFixed(0)
    const name = this.serverProcess?.name ?? 'server'
    const parts = [`client ${us(this.client)}`, this.serverKnown ? `${name} ${us(this.server)}` : `${name} unknown`]
    if (database) parts.push(`${database} ${us(this.backends)}`)
    const total = this.client + (this.serverKnown ? this.server : 0) + (database ? this.backends : 0)
    return `${parts.join(' + ')} = ${us(total)} µs`
  }

  /** This process's CPU per op (µs). */
  clientPerOp(): number {
    return (this.client * 1000) / this.ops
  }

  totalPerOp(): number {
    return ((this.client + this.backends) * 1000) / this.ops
  }
}

/** Backends with this application name (a pool's connections, while they are open). */
export async function backendsOf(admin: Database, applicationName: string): Promise<number[]> {
  const result = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [applicationName])
  return result.rows.map((r) => Number(r.pid))
}

/** utime + stime of a process in milliseconds (USER_HZ = 100); undefined when it is not ours to see. */
export function cpuMsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/**
 * A server's process when it runs on this machine (for its CPU time), else undefined: the one process
 * named `comm` that `ours` recognises by its command line, or the only process of that name.
 */
export function serverPid(comm: string, ours: (args: string[]) => boolean): number | undefined {
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

/**
 * How busy the whole machine (every process: servers, other sessions; from /proc/stat) and this process
 * were from construction to `stop`: "machine busy 1.62 of 2 cores, this process 0.91". Shows whether a
 * latency figure ran on a saturated machine, or behind a saturated event loop.
 */
export class MachineBusy {
  private readonly begin = readMachineTicks()
  private readonly started = performance.now()
  private readonly ownAtStart = process.cpuUsage()

  stop(): string {
    const end = readMachineTicks()
    const used = process.cpuUsage(this.ownAtStart)
    const own = (used.user + used.system) / 1000 / (performance.now() - this.started)
    if (!this.begin || !end) return `machine busy unknown, this process ${own.toFixed(2)}`
    const total = end.total - this.begin.total
    const busy = total - (end.idle - this.begin.idle)
    return `machine busy ${((busy / Math.max(1, total)) * end.cores).toFixed(2)} of ${end.cores} cores, this process ${own.toFixed(2)}`
  }
}

/** The aggregate `cpu` line of /proc/stat: all ticks, idle ticks (idle + iowait), and the core count. */
function readMachineTicks(): { total: number; idle: number; cores: number } | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n')
    const ticks = lines[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    return { total: ticks.reduce((a, b) => a + b, 0), idle: ticks[3]! + ticks[4]!, cores: lines.filter((l) => /^cpu\d/.test(l)).length }
  } catch {
    return undefined
  }
}
