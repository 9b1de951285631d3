import http from 'node:http'
import autocannon from 'autocannon'
import { cpuMsOf } from './cpu'
import type { Throughput } from './load'
import { distribution, type Distribution } from './stats'

export interface HttpLoadResult extends Throughput {
  /** Latency of every 2xx response, in ms (autocannon's own histogram rounds to 1 ms; these are exact). */
  latency: Distribution
  /** The latency samples (ms), to merge rounds. */
  samples: number[]
  non2xx: number
  errors: number
  statusCodes: Record<string, number>
}

export interface HttpLoadOptions {
  url: string
  connections: number
  /** Whole seconds: autocannon ends a run on its first 1 s sample tick after the duration. */
  seconds: number
  /** The requests connection `i` sends, in a loop. */
  requestsFor: (connection: number) => autocannon.Request[]
}

/**
 * Closed loop over HTTP with autocannon (HTTP/1.1 keep-alive, one request in flight per connection):
 * every connection sends its next request as soon as the previous answer arrived. The rate counts 2xx
 * answers over autocannon's measured duration.
 */
export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  let connection = 0
  const samples: number[] = []
  const run = autocannon({
    url: options.url,
    connections: options.connections,
    duration: Math.max(1, Math.round(options.seconds)),
    pipelining: 1,
    timeout: 30,
    setupClient: (client) => client.setRequests(options.requestsFor(connection++)),
  })
  run.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) samples.push(ms)
  })
  const result = await run
  const ms = result.duration * 1000
  const ops = result['2xx']
  return {
    ops,
    ms,
    perSecond: (ops * 1000) / ms,
    latency: distribution(samples),
    samples,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])),
  }
}

/** Rounds of one phase summed: rate over the summed time, latency over every sample. */
export function combineLoads(parts: readonly HttpLoadResult[]): HttpLoadResult {
  const samples = parts.flatMap((p) => p.samples)
  const ops = parts.reduce((n, p) => n + p.ops, 0)
  const ms = parts.reduce((n, p) => n + p.ms, 0)
  const statusCodes: Record<string, number> = {}
  for (const p of parts) for (const [code, n] of Object.entries(p.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  return {
    ops,
    ms,
    perSecond: ms > 0 ? (ops * 1000) / ms : 0,
    latency: distribution(samples),
    samples,
    non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    statusCodes,
  }
}

/** Throws when a load run got anything but 2xx answers: a figure must not count failures as work. */
export function expectClean(what: string, result: HttpLoadResult): void {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${what}: ${result.non2xx} non-2xx answers and ${result.errors} errors (status codes ${JSON.stringify(result.statusCodes)})`)
  }
}

/**
 * CPU per request of the load generator (this process), the server process and, on PostgreSQL, the
 * backends serving it: on a 2-core machine this shows which side bounds a rate. A backend that exits
 * during a phase (a pool closing an idle connection) is left out: a slight undercount, never a gap.
 */
export class PhaseCpu {
  private client = 0
  private server = 0
  private database = 0
  private ops = 0

  constructor(
    private readonly serverPid: number,
    private readonly backends?: () => Promise<number[]>,
  ) {}

  async measure<T extends { ops: number }>(work: () => Promise<T>): Promise<T> {
    const pids = async () => (this.backends ? await this.backends() : [])
    const before = new Map((await pids()).map((pid) => [pid, cpuMsOf(pid)] as const))
    const serverBefore = cpuMsOf(this.serverPid) ?? 0
    const clientBefore = process.cpuUsage()
    const result = await work()
    const client = process.cpuUsage(clientBefore)
    this.server += (cpuMsOf(this.serverPid) ?? serverBefore) - serverBefore
    for (const pid of new Set([...before.keys(), ...(await pids())])) {
      const end = cpuMsOf(pid)
      if (end !== undefined) this.database += end - (before.get(pid) ?? 0)
    }
    this.client += (client.user + client.system) / 1000
    this.ops += result.ops
    return result
  }

  /** "load generator 40 + server process 95 (+ PostgreSQL 30) µs per request" */
  perOp(unit = 'request'): string {
    const us = (ms: number) => ((ms * 1000) / this.ops).toFixed(0)
    return `load generator ${us(this.client)} + server process ${us(this.server)}${this.backends ? ` + PostgreSQL ${us(this.database)}` : ''} µs per ${unit}`
  }

  /** µs of the server process alone per op. */
  processPerOp(): number {
    return (this.server * 1000) / this.ops
  }

  /** µs of the database's backends per op. */
  databasePerOp(): number {
    return (this.database * 1000) / this.ops
  }

  /** µs of the server process (and the database) per op. */
  serverPerOp(): number {
    return ((this.server + this.database) * 1000) / this.ops
  }
}

export interface Answer {
  status: number
  body: string
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
}

/**
 * A plain keep-alive HTTP client for seeding, the open loop and polling (lighter than fetch). Idle
 * sockets are closed after 2 s, before the server's 5 s keep-alive timeout can close one under a request
 * being sent; a request that still meets a reset connection is sent once more.
 */
export class KeepAliveClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 2_000 })

  constructor(private readonly base: URL) {}

  async request(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    try {
      return await this.send(method, path, options)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error
      return this.send(method, path, options)
    }
  }

  private send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> }): Promise<Answer> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
    const headers: Record<string, string> = { ...options.headers }
    if (payload) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(payload.length)
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ agent: this.agent, host: this.base.hostname, port: this.base.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, rawHeaders: res.rawHeaders }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(payload)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}
