import { resolve } from 'node:path'

export interface ProcessConfig {
  port: number
  /** HOST: the address to listen on (default the loopback, 127.0.0.1: `HOST=0.0.0.0` serves every interface). */
  host: string
  databaseUrl?: string
  dataDir: string
  logLevel: string
  /** TIDINGS_CONSISTENCY_TIMEOUT_MS: the longest a read waits for a client's consistency tokens. */
  consistencyTimeoutMs?: number
  /** TIDINGS_DATABASE_POOL: connections to PostgreSQL this process may open (default 10). */
  databasePool?: number
  /** TIDINGS_ALERT_WEBHOOK_URL: where failure alerts are posted (Slack-compatible `{"text": …}`); without it they are only logged and counted. */
  alertWebhookUrl?: string
}

/**
 * A process's configuration comes from the environment only: PORT, HOST, DATABASE_URL, TIDINGS_DATA_DIR,
 * LOG_LEVEL, TIDINGS_CONSISTENCY_TIMEOUT_MS, TIDINGS_DATABASE_POOL and TIDINGS_ALERT_WEBHOOK_URL.
 */
export function processConfig(env: NodeJS.ProcessEnv): ProcessConfig {
  // Unset or empty: the default (a compose file's `PORT=${PORT}` with PORT unset gives an empty string).
  const portText = env.PORT || '3000'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`PORT must be a port number, not ${env.PORT}`)
  const consistencyTimeoutMs = env.TIDINGS_CONSISTENCY_TIMEOUT_MS ? Number(env.TIDINGS_CONSISTENCY_TIMEOUT_MS) : undefined
  if (consistencyTimeoutMs !== undefined && !(Number.isInteger(consistencyTimeoutMs) && consistencyTimeoutMs >= 0)) {
    throw new Error(`TIDINGS_CONSISTENCY_TIMEOUT_MS must be a whole number of milliseconds, not ${env.TIDINGS_CONSISTENCY_TIMEOUT_MS}`)
  }
  const databasePool = env.TIDINGS_DATABASE_POOL ? Number(env.TIDINGS_DATABASE_POOL) : undefined
  if (databasePool !== undefined && !(Number.isInteger(databasePool) && databasePool >= 1)) {
    throw new Error(`TIDINGS_DATABASE_POOL must be a positive whole number of connections, not ${env.TIDINGS_DATABASE_POOL}`)
  }
  const alertWebhookUrl = env.TIDINGS_ALERT_WEBHOOK_URL || undefined
  if (alertWebhookUrl !== undefined && !/^https?:$/.test(URL.parse(alertWebhookUrl)?.protocol ?? '')) {
    // The URL is a secret (it carries the webhook's token): the error names the variable, not its value.
    throw new Error('TIDINGS_ALERT_WEBHOOK_URL must be an http(s) URL')
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.TIDINGS_DATA_DIR ?? './data'),
    logLevel: env.LOG_LEVEL ?? 'info',
    ...(consistencyTimeoutMs !== undefined ? { consistencyTimeoutMs } : {}),
    ...(databasePool !== undefined ? { databasePool } : {}),
    ...(alertWebhookUrl !== undefined ? { alertWebhookUrl } : {}),
  }
}
