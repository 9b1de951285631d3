import { spawnSync } from 'node:child_process'
import { createConnection } from 'node:net'

const reported = new Set<string>()

/**
 * Whether a server program the tests start themselves (a throwaway broker) is installed. Without it its
 * suites are skipped and say so, except in CI (CI=true), where a missing program fails the run.
 */
export function serverInstalled(command: string, versionFlag = '--version'): boolean {
  const result = spawnSync(command, [versionFlag], { stdio: 'ignore' })
  if (!result.error && result.status === 0) return true
  if (process.env.CI === 'true') throw new Error(`${command} is required in CI but could not be run`)
  if (!reported.has(command)) {
    reported.add(command)
    console.warn(`[tidings] SKIPPED suites that need ${command}: it is not installed`)
  }
  return false
}

/**
 * Whether a shared local service answers on its port (e.g. NATS on 4222). Without it its suites are
 * skipped and say so, except in CI, where `.ci/run` starts every service and a missing one fails the run.
 */
export async function serviceReachable(name: string, port: number, host = '127.0.0.1'): Promise<boolean> {
  const up = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port, timeout: 2_000 })
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
  if (up) return true
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI but nothing answers on ${host}:${port}`)
  if (!reported.has(name)) {
    reported.add(name)
    console.warn(`[tidings] SKIPPED suites that need ${name}: nothing answers on ${host}:${port}`)
  }
  return false
}
