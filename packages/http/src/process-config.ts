import { resolve } from 'node:path'

export interface ProcessConfig {
  port: number
  databaseUrl?: string
  dataDir: string
  logLevel: string
}

/** A process's configuration comes from the environment only: PORT, DATABASE_URL, TIDINGS_DATA_DIR, LOG_LEVEL. */
export function processConfig(env: NodeJS.ProcessEnv): ProcessConfig {
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not ${env.PORT}`)
  return {
    port,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.TIDINGS_DATA_DIR ?? './data'),
    logLevel: env.LOG_LEVEL ?? 'info',
  }
}
