import { resolve } from 'node:path'

export interface DemoConfig {
  port: number
  databaseUrl?: string
  dataDir: string
}

/** Configuration comes from the environment only. */
export function configFrom(env: NodeJS.ProcessEnv): DemoConfig {
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not ${env.PORT}`)
  return {
    port,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.TIDINGS_DATA_DIR ?? './data'),
  }
}
