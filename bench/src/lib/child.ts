import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * A server the bench runs in a process of its own (the board, or the bare `node:http` ceiling), so that
 * the load generator in this process and the server each have their own event loop, as in production.
 * Requests and answers go over the IPC channel: `{ id, op, args }` → `{ id, ok, result | error }`.
 */
export interface ChildMessage {
  id: number
  op: string
  args?: unknown
}

export interface ChildAnswer {
  id: number
  ok: boolean
  result?: unknown
  error?: string
}

export class ChildServer {
  private next = 0
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private exited = false
  private readonly exit: Promise<void>

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly label: string,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()))
    child.on('message', (message: ChildAnswer) => {
      const waiter = this.pending.get(message.id)
      if (!waiter) return
      this.pending.delete(message.id)
      if (message.ok) waiter.resolve(message.result)
      else waiter.reject(new Error(`${label}: ${message.error}`))
    })
    child.on('exit', (code, signal) => {
      this.exited = true
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${label} exited (${code ?? signal}) during a request`))
      this.pending.clear()
    })
  }

  /** Starts `entry` (a .ts file next to this one, run through tsx like the bench) and waits for its port. */
  static async start(entry: string, label: string, env: Record<string, string>): Promise<ChildServer> {
    const path = fileURLToPath(new URL(entry, import.meta.url))
    const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? [...process.execArgv] : ['--import', 'tsx']
    // BENCH_PROFILE_DIR=dir: each server process writes a V8 CPU profile there when it stops.
    if (process.env.BENCH_PROFILE_DIR) execArgv.push('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`)
    const child = fork(path, [], { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const port = await new Promise<number>((resolve, reject) => {
      const onMessage = (message: { ready?: number; failed?: string }) => {
        if (message.ready !== undefined) resolve(message.ready)
        else if (message.failed !== undefined) reject(new Error(`${label} failed to start: ${message.failed}`))
        else return
        child.off('message', onMessage)
        child.off('exit', onExit)
      }
      const onExit = (code: number | null) => reject(new Error(`${label} exited (${code}) before it listened`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
    return new ChildServer(child, port, label)
  }

  get pid(): number {
    return this.child.pid!
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  call<T>(op: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited`))
    const id = ++this.next
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send({ id, op, args } satisfies ChildMessage)
    })
  }

  /** Asks it to stop (closing its database), then makes sure: SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await this.call('stop').catch(() => {})
    await this.exit
    clearTimeout(kill)
  }

  /**
   * The offset of the child's clock (`performance.timeOrigin + performance.now()`) from ours, from the
   * round trip with the shortest IPC time: add it to our times to get the child's.
   */
  async clockOffset(rounds = 30): Promise<{ offsetMs: number; rttMs: number }> {
    let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY }
    for (let i = 0; i < rounds; i++) {
      const sent = wallNow()
      const theirs = await this.call<number>('now')
      const received = wallNow()
      const rtt = received - sent
      if (rtt < best.rttMs) best = { offsetMs: theirs - (sent + received) / 2, rttMs: rtt }
    }
    return best
  }
}

/** A clock that two processes of this machine share to well under a millisecond. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now()
}

/** The child's side: answers the parent's requests with `handlers`, and exits when the parent goes away. */
export function serveParent(handlers: Record<string, (args: never) => unknown>): void {
  process.on('message', (message: ChildMessage) => {
    const handler = handlers[message.op]
    const answer = (reply: ChildAnswer) => process.send?.(reply)
    if (!handler) return answer({ id: message.id, ok: false, error: `unknown op ${message.op}` })
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (result) => answer({ id: message.id, ok: true, result }),
        (error: unknown) => answer({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      )
  })
  process.on('disconnect', () => process.exit(0))
}
