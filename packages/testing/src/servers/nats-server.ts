import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A throwaway `nats-server` with JetStream, for tests that stop, kill and restart the broker. */
export interface NatsServer {
  readonly url: string
  readonly port: number
  /** The JetStream store: kept across `stop`, `kill` and `restart`, removed by `cleanup`. */
  readonly storeDir: string
  /** SIGTERM (a clean shutdown), resolving once the process has exited. */
  stop(): Promise<void>
  /** SIGKILL: the broker dies mid-stream, as in a crash. */
  kill(): Promise<void>
  /** Starts the server again on the same port and store (stopping it first if it still runs). */
  restart(): Promise<void>
  /** Kills the server and removes its store. */
  cleanup(): Promise<void>
}

const running = new Set<ChildProcess>()

process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startNatsServer(options: { readyTimeoutMs?: number } = {}): Promise<NatsServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000
  const port = await freePort()
  const storeDir = await mkdtemp(join(tmpdir(), 'tidings-nats-'))
  let child: ChildProcess | undefined

  const launch = async (): Promise<void> => {
    const started = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child = started
    running.add(started)
    let stderr = ''
    started.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8000)
    })
    const exited = exitOf(started).then(() => running.delete(started))
    let gone = false
    void exited.then(() => (gone = true))
    const deadline = Date.now() + readyTimeoutMs
    // nats-server enables JetStream (and restores its streams) before it accepts clients, so the first
    // INFO line means the broker is ready for JetStream requests.
    while (!(await greets(port))) {
      if (gone) throw new Error(`nats-server exited before accepting connections:\n${stderr}`)
      if (Date.now() > deadline) {
        started.kill('SIGKILL')
        throw new Error(`nats-server did not accept connections on ${port} within ${readyTimeoutMs} ms:\n${stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  const signal = async (name: NodeJS.Signals): Promise<void> => {
    const current = child
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const exited = exitOf(current)
    current.kill(name)
    await exited
  }

  await launch()
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM')
      await launch()
    },
    async cleanup() {
      await signal('SIGKILL')
      await rm(storeDir, { recursive: true, force: true })
    },
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
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

/** True when a NATS server answers on the port with its INFO line. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 1_000)
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1').startsWith('INFO')))
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}
