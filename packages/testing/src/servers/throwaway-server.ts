import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'

/** A server a test starts on a free port with a data directory of its own, and may stop, kill and restart. */
export interface ThrowawayServer {
  readonly port: number
  /** Kept across `stop`, `kill` and `restart`, removed by `cleanup`. */
  readonly dataDir: string
  /** A clean shutdown (SIGTERM, or the recipe's stop signal), resolving once the process has exited. */
  stop(): Promise<void>
  /** SIGKILL: the server dies mid-stream, as in a crash. */
  kill(): Promise<void>
  /** Starts the server again on the same port and data directory (stopping it first if it still runs). */
  restart(): Promise<void>
  /** Kills the server and removes its data. */
  cleanup(): Promise<void>
}

export interface ServerRecipe {
  command: string
  args(port: number, dataDir: string): string[]
  /** True once the server on `port` serves requests (not merely accepts connections). */
  ready(port: number): Promise<boolean>
  readyTimeoutMs?: number
  /** Variables added to this process's environment for the server; default none. */
  env?(port: number, dataDir: string): Record<string, string>
  /** Runs once before the first start, e.g. to write configuration files into `dataDir`. */
  prepare?(port: number, dataDir: string): Promise<void>
  /** The port to serve on; default a free one. */
  port?: number
  /**
   * The command is a launcher whose server is a process of its own (a script starting a VM): start it as
   * a process group and send `kill` (SIGKILL) to the whole group, so the server dies with it. `stop`
   * (SIGTERM) still goes to the launcher alone, which shuts the server down cleanly. Default false.
   */
  processGroup?: boolean
  /** The user the server runs as (PostgreSQL refuses to run as root); default this process's. */
  user?: { uid: number; gid: number }
  /** What `stop` and `restart` send for a clean shutdown; default SIGTERM. */
  stopSignal?: NodeJS.Signals
}

const running = new Map<ChildProcess, boolean>()

process.once('exit', () => {
  for (const [child, group] of running) signalChild(child, 'SIGKILL', group)
})

/** Sends a signal to the child, or to its whole process group. */
function signalChild(child: ChildProcess, signal: NodeJS.Signals, group: boolean): void {
  if (group && child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal)
      return
    } catch {
      // The group is gone already; the child itself may not be.
    }
  }
  child.kill(signal)
}

export async function startThrowawayServer(recipe: ServerRecipe): Promise<ThrowawayServer> {
  const { command } = recipe
  const readyTimeoutMs = recipe.readyTimeoutMs ?? 15_000
  const port = recipe.port ?? (await freePort())
  const group = recipe.processGroup ?? false
  const stopSignal = recipe.stopSignal ?? 'SIGTERM'
  const dataDir = await mkdtemp(join(tmpdir(), `tidings-${basename(command)}-`))
  let child: ChildProcess | undefined
  await recipe.prepare?.(port, dataDir)

  const launch = async (): Promise<void> => {
    const env = recipe.env ? { ...process.env, ...recipe.env(port, dataDir) } : process.env
    const started = spawn(command, recipe.args(port, dataDir), { stdio: ['ignore', 'pipe', 'pipe'], env, detached: group, ...recipe.user })
    child = started
    running.set(started, group)
    let output = ''
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000)
    }
    started.stdout!.on('data', keep)
    started.stderr!.on('data', keep)
    let gone = false
    void exitOf(started).then(() => {
      running.delete(started)
      gone = true
    })
    const deadline = Date.now() + readyTimeoutMs
    while (!(await recipe.ready(port))) {
      if (gone) throw new Error(`${command} exited before it was ready:\n${output}`)
      if (Date.now() > deadline) {
        signalChild(started, 'SIGKILL', group)
        throw new Error(`${command} was not ready on ${port} within ${readyTimeoutMs} ms:\n${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  const signal = async (name: NodeJS.Signals): Promise<void> => {
    const current = child
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const exited = exitOf(current)
    signalChild(current, name, group && name === 'SIGKILL')
    await exited
  }

  await launch()
  return {
    port,
    dataDir,
    stop: () => signal(stopSignal),
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal(stopSignal)
      await launch()
    },
    async cleanup() {
      await signal('SIGKILL')
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Connects to the port, optionally sends `say`, and tells whether the first line of the answer passes
 * `ok` (within a second).
 */
export function answers(port: number, ok: (firstLine: string) => boolean, say?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (answer: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), 1_000)
    if (say !== undefined) socket.once('connect', () => socket.write(say))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(ok(reply))
    })
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Ports nothing listens on right now, all different: the system hands them out for port 0, held at once. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer())
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject)
            server.listen(0, '127.0.0.1', () => {
              const address = server.address()
              const port = typeof address === 'object' && address ? address.port : 0
              if (port) resolve(port)
              else reject(new Error('no free port'))
            })
          }),
      ),
    )
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => (server.listening ? server.close(resolve) : resolve(undefined)))))
  }
}

/** A port nothing listens on right now: the system hands one out for port 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}
