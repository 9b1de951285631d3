import { resolve } from 'node:path'

export interface BoardConfig {
  port: number
  databaseUrl?: string
  dataDir: string
  logLevel: string
}

/** Configuration comes from the environment only. */
export function configFrom(env: NodeJS.ProcessEnv): BoardConfig {
  const port = Number(env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not ${env.PORT}`)
  return {
    port,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.TIDINGS_DATA_DIR ?? './data'),
    logLevel: env.LOG_LEVEL ?? 'info',
  }
}

/** Where another board service listens, for a service running alone; e.g. BOARD_POST_URL=http://127.0.0.1:3002. */
export function serviceUrl(env: NodeJS.ProcessEnv, name: 'member' | 'post' | 'comment'): string {
  const variable = `BOARD_${name.toUpperCase()}_URL`
  const url = env[variable]
  if (!url) throw new Error(`${variable} must say where the ${name} service listens (e.g. http://127.0.0.1:3001)`)
  return url
}
