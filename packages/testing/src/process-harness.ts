import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface ManagedProcess {
  readonly name: string
  readonly child: ChildProcess
  /** Every line the process printed on stdout so far. */
  readonly lines: string[]
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
  kill(signal?: NodeJS.Signals): Promise<number | null>
  readonly exited: Promise<number | null>
}

const running = new Set<ManagedProcess>()

/**
 * Runs a TypeScript entry point in a child process (node + tsx), collecting its stdout lines; the tests
 * that use it SIGKILL such processes on purpose. Every process started here is killed at exit.
 */
export function startProcess(name: string, script: string | URL, env: Record<string, string | undefined> = {}): ManagedProcess {
  const path = script instanceof URL ? fileURLToPath(script) : script
  // BENCH_PROFILE_DIR=dir: the process writes a V8 CPU profile there when it exits (as the bench's servers do).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    for (const wake of waiters) wake()
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const managed: ManagedProcess = {
    name,
    child,
    lines,
    exited,
    waitForLine(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = lines.find(match)
          if (line === undefined) return false
          cleanup()
          resolve(line)
          return true
        }
        const fail = (why: string): void => {
          cleanup()
          reject(new Error(`${name}: ${why}\n--- stdout ---\n${lines.slice(-20).join('\n')}\n--- stderr ---\n${stderr}`))
        }
        const timer = setTimeout(() => fail(`no matching line within ${timeoutMs} ms`), timeoutMs)
        const onExit = (code: number | null): void => {
          if (!check()) fail(`exited with ${code} before printing the line`)
        }
        const cleanup = (): void => {
          clearTimeout(timer)
          waiters.delete(wake)
          child.off('exit', onExit)
        }
        const wake = (): void => {
          check()
        }
        if (check()) return
        waiters.add(wake)
        child.once('exit', onExit)
      })
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
  running.add(managed)
  void exited.then(() => running.delete(managed))
  return managed
}

process.once('exit', () => {
  for (const p of running) p.child.kill('SIGKILL')
})

/** Resolves when the child has exited; rejects with its output if it failed. */
export async function expectCleanExit(p: ManagedProcess): Promise<void> {
  const code = await p.exited
  if (code !== 0) throw new Error(`${p.name} exited with ${String(code)}:\n${p.lines.slice(-20).join('\n')}`)
}
