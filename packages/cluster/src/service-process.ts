import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Logger } from '@tidings/core'

/** How long a crashed service waits before it is started again; it doubles with every crash in a row. */
const RESTART_DELAY_MS = 1_000
const MAX_RESTART_DELAY_MS = 30_000
/** A service that ran this long before it exited counts as healthy again: its next restart waits the least. */
const HEALTHY_AFTER_MS = 60_000
/** How long a service may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 15_000

/** What a service tells its supervisor over the IPC channel once it listens (`runUntilSignalled`). */
interface ListeningMessage {
  listening: number
}

const isListening = (message: unknown): message is ListeningMessage =>
  typeof message === 'object' && message !== null && typeof (message as { listening?: unknown }).listening === 'number'

/**
 * One service as a child process (a script that runs the service named by `TIDINGS_SERVICE`, such as
 * `apps/server/src/service-main.ts`), kept running: it is started again, on the
 * same port, whenever it exits without being asked to, after a pause that doubles with every crash in a
 * row (1 s up to 30 s). Its log lines pass through to this process's stdout; it says where it listens over
 * the IPC channel (whatever its log level).
 */
export class ServiceProcess {
  private child?: ChildProcess
  private port = 0
  private stopping = false
  private crashes = 0
  private listeningSince = 0

  constructor(
    /** The TypeScript or JavaScript file that runs one service (through tsx). */
    private readonly script: string,
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
      const child = spawn(process.execPath, ['--import', 'tsx', this.script], {
        // On the loopback only: the gateway is the cluster's one way in (a service's /internal and /metrics too).
        env: { ...process.env, ...this.env, TIDINGS_SERVICE: this.name, PORT: String(this.port), HOST: '127.0.0.1' },
        // The IPC channel closes when this process dies, however it dies: the child then shuts down too.
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      })
      this.child = child
      let listening = false
      createInterface({ input: child.stdout! }).on('line', (line) => process.stdout.write(`${line}\n`))
      child.on('message', (message) => {
        if (listening || !isListening(message)) return
        listening = true
        this.port = message.listening
        this.listeningSince = performance.now()
        resolve()
      })
      child.once('error', (error) => {
        // It could not be started (or signalled): an exit follows only if it had started.
        if (!listening) reject(error)
        this.logger.error({ err: error, service: this.name }, 'service process failed')
      })
      child.once('exit', (code, signal) => {
        if (!listening) reject(new Error(`${this.name} exited (${signal ?? code}) before it listened`))
        if (this.stopping || this.child !== child) return
        this.crashes = listening && performance.now() - this.listeningSince >= HEALTHY_AFTER_MS ? 0 : this.crashes + 1
        const delayMs = Math.min(RESTART_DELAY_MS * 2 ** (this.crashes - 1), MAX_RESTART_DELAY_MS)
        this.logger.warn({ service: this.name, code, signal, restartInMs: delayMs }, 'service exited; starting it again')
        setTimeout(() => {
          if (!this.stopping) this.start().catch((error: unknown) => this.logger.error({ err: error, service: this.name }, 'service did not start again'))
        }, delayMs)
      })
    })
  }

  /** From now on it is not started again when it exits (the cluster is stopping). */
  holdRestarts(): void {
    this.stopping = true
  }

  /** Asks it to finish what it is doing and stop (SIGTERM), kills it if it has not within a grace period, and waits until it has. */
  async stop(): Promise<void> {
    this.holdRestarts()
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const killer = setTimeout(() => {
      this.logger.warn({ service: this.name, graceMs: STOP_GRACE_MS }, 'service did not stop in time; killing it')
      child.kill('SIGKILL')
    }, STOP_GRACE_MS)
    await exited
    clearTimeout(killer)
  }
}
