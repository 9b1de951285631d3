import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cpuMsOf } from './cpu'

/**
 * Debian's `wrk` (C, epoll) as the load generator where a Node generator would cost as much CPU as the
 * server it measures (autocannon does): HTTP/1.1 keep-alive, one request in flight per connection, a Lua
 * script per request (lib/wrk/*.lua). `apt-get install -y wrk` installs it.
 */
export const WRK_SCRIPTS = { join: script('join.lua'), poll: script('poll.lua') }

function script(name: string): string {
  return fileURLToPath(new URL(`./wrk/${name}`, import.meta.url))
}

export function wrkInstalled(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined
}

export interface WrkResult {
  requests: number
  ms: number
  perSecond: number
  /** Answers ≥ 400 (wrk's "Non-2xx or 3xx responses"). */
  failed: number
  socketErrors: string | undefined
  /** wrk's latency percentiles in ms (from --latency), when it printed them. */
  latency: { p50: number; p99: number } | undefined
  /** CPU time of the wrk process, sampled every 100 ms until it exited. */
  wrkCpuMs: number
}

/** wrk for a fixed time (whole seconds) with a script and its arguments. */
export async function wrkFor(options: { url: string; connections: number; threads: number; seconds: number; script: string; args: string[] }): Promise<WrkResult> {
  const child = startWrk(options.url, options.connections, options.threads, Math.max(1, Math.round(options.seconds)), options.script, options.args)
  const lines: string[] = []
  createInterface({ input: child.process.stdout! }).on('line', (line) => lines.push(line))
  await child.exited
  return parseWrk(lines, child.cpuMs())
}

export interface WrkAnswered {
  /** 2xx answers (one per member who joined), and other answers (failures). */
  ok: number
  other: number
  /** Requests never answered: lost with their connection (the kernel dropped it) or still unanswered after `tailMs`. */
  lost: number
  /** The first 2xx answer → the last one, by this process's clock (from the script's lines). */
  ms: number
  /** From the answer that made 10 % of those expected to the one that made 90 %: the rate without the ends. */
  middlePerSecond: number
  wrk: WrkResult
}

/**
 * Runs join.lua with all the connections opening at once (a spike), until every token has a 2xx answer,
 * or all are sent and no answer came for `tailMs` (a request lost with its connection is never answered);
 * then stops wrk (SIGINT). Fails when no 250 more answers came for `stallMs` before that.
 */
export async function wrkUntilAnswered(options: { url: string; connections: number; threads: number; args: string[]; expected: number; tailMs?: number; stallMs?: number }): Promise<WrkAnswered> {
  const { threads } = options
  const child = startWrk(options.url, options.connections, threads, 3_600, WRK_SCRIPTS.join, [...options.args, String(threads)])
  const lines: string[] = []
  let first = Number.POSITIVE_INFINITY
  let last = 0
  let done = 0
  let sent = 0
  let lastProgress = performance.now()
  const answered = new Map<string, number>()
  const timeline: Array<{ at: number; total: number }> = []
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => (finish = resolve))
  createInterface({ input: child.process.stdout! }).on('line', (line) => {
    const now = performance.now()
    lines.push(line)
    const [kind, thread, n] = line.split(' ')
    if (kind === 'first') first = Math.min(first, now)
    if (kind === 'sent') sent++
    if (kind === 'ok') {
      lastProgress = last = now
      answered.set(thread!, Number(n))
      timeline.push({ at: now, total: [...answered.values()].reduce((a, b) => a + b, 0) })
    }
    if (kind === 'done') {
      lastProgress = last = now
      if (++done === threads) finish()
    }
  })
  let stalled = false
  const watch = setInterval(() => {
    const quiet = performance.now() - lastProgress
    if (sent === threads ? quiet > (options.tailMs ?? 40_000) : quiet > (options.stallMs ?? 60_000)) {
      stalled = sent < threads
      finish()
    }
  }, 250)
  await Promise.race([finished, child.exited])
  clearInterval(watch)
  child.process.kill('SIGINT')
  await child.exited
  const answers = lines.filter((l) => l.startsWith('answers ')).map((l) => l.split(' ').map(Number))
  const ok = answers.reduce((n, a) => n + (a[2] ?? 0), 0)
  const other = answers.reduce((n, a) => n + (a[3] ?? 0), 0)
  if (stalled || other > 0) throw new Error(`wrk: the joins stopped (${ok} of ${options.expected} answered 2xx, ${other} otherwise):\n${lines.join('\n')}`)
  const crossing = (share: number) => timeline.find((p) => p.total >= share * options.expected)
  const [from, to] = [crossing(0.1), crossing(0.9)]
  const middlePerSecond = from && to && to.at > from.at ? ((to.total - from.total) * 1000) / (to.at - from.at) : Number.NaN
  return { ok, other, lost: options.expected - ok - other, ms: last - first, middlePerSecond, wrk: parseWrk(lines, child.cpuMs()) }
}

function startWrk(url: string, connections: number, threads: number, seconds: number, scriptPath: string, args: string[]) {
  const process = spawn('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '30s', '--latency', '-s', scriptPath, url, '--', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let cpu = 0
  const sample = setInterval(() => (cpu = cpuMsOf(process.pid!) ?? cpu), 100)
  const exited = new Promise<void>((resolve, reject) => {
    process.once('error', reject)
    process.once('exit', () => {
      clearInterval(sample)
      resolve()
    })
  })
  return { process: process as ChildProcess, exited, cpuMs: () => cpu }
}

function parseWrk(lines: readonly string[], wrkCpuMs: number): WrkResult {
  const text = lines.join('\n')
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(text)
  if (!total) throw new Error(`wrk printed no result:\n${text}`)
  const ms = toMs(Number(total[2]), total[3]!)
  const requests = Number(total[1])
  const percentile = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text)
    return m ? toMs(Number(m[1]), m[2]!) : Number.NaN
  }
  const p50 = percentile(50)
  return {
    requests,
    ms,
    perSecond: (requests * 1000) / ms,
    failed: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: /Socket errors: (.*)/.exec(text)?.[1],
    latency: Number.isNaN(p50) ? undefined : { p50, p99: percentile(99) },
    wrkCpuMs,
  }
}

function toMs(value: number, unit: string): number {
  return unit === 'us' ? value / 1000 : unit === 's' ? value * 1000 : unit === 'm' ? value * 60_000 : value
}


/** wrk over these paths (GET, each request a path drawn at random: poll.lua), for `seconds`; its result with `ops` for PhaseCpu. */
export async function wrkPaths(options: { url: string; connections: number; seconds: number; paths: readonly string[] }): Promise<WrkResult & { ops: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-wrk-'))
  try {
    const file = join(dir, 'paths.txt')
    await writeFile(file, `${options.paths.join('\n')}\n`)
    const result = await wrkFor({ url: options.url, connections: options.connections, threads: 2, seconds: options.seconds, script: WRK_SCRIPTS.poll, args: [file] })
    if (result.failed > 0 || result.socketErrors) throw new Error(`wrk ${options.url}: ${result.failed} answers ≥ 400, socket errors ${result.socketErrors ?? 'none'}`)
    return { ...result, ops: result.requests }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
