import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Logger } from '@tidings/core'

const SERVICE_MAIN = fileURLToPath(new URL('../service-main.ts', import.meta.url))
/** How long a crashed service waits before it is started again. */
const RESTART_DELAY_MS = 1_000

/**
 * One board service as a child process (`service-main.ts`), kept running: it is started again, on the
 * same port, whenever it exits without being asked to. Its log lines pass through to this process's
 * stdout; the line that says where it listens gives its port.
 */
export class ServiceProcess {
  private child?: ChildProcess
  private port = 0
  private stopping = false

  constructor(
    readonly name: string,
    private readonly env: Record<string, string | undefined>,
    private readonly logger: Logger,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Starts it and resolves once it listens. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', SERVICE_MAIN], {
        env: { ...process.env, ...this.env, BOARD_SERVICE: this.name, PORT: String(this.port) },
        // The IPC channel closes when this process dies, however it dies: the child then shuts down too.
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      })
      this.child = child
      let listening = false
      createInterface({ input: child.stdout! }).on('line', (line) => {
        process.stdout.write(`${line}\n`)
        if (listening || !line.includes('listening on')) return
        const port = (JSON.parse(line) as { port?: unknown }).port
        if (typeof port !== 'number') return
        listening = true
        this.port = port
        resolve()
      })
      child.once('exit', (code, signal) => {
        if (!listening) reject(new Error(`${this.name} exited (${signal ?? code}) before it listened`))
        if (this.stopping || this.child !== child) return
        this.logger.warn({ service: this.name, code, signal }, 'service exited; starting it again')
        setTimeout(() => {
          if (!this.stopping) this.start().catch((error: unknown) => this.logger.error({ err: error, service: this.name }, 'service did not start again'))
        }, RESTART_DELAY_MS)
      })
    })
  }

  /** Asks it to finish what it is doing and stop (SIGTERM), and waits until it has. */
  async stop(): Promise<void> {
    this.stopping = true
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}
