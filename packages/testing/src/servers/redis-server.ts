import { answers, startThrowawayServer, type ThrowawayServer } from './throwaway-server'

/** A throwaway `redis-server` (its append-only file in `dataDir`), for tests that stop, kill and restart the broker. */
export interface RedisServer extends ThrowawayServer {
  readonly url: string
}

/**
 * Starts `redis-server` on a free port. Append-only with `appendfsync always`, so a server killed with
 * SIGKILL still has everything it acknowledged when it comes back (no RDB snapshots).
 */
export async function startRedisServer(options: { readyTimeoutMs?: number } = {}): Promise<RedisServer> {
  const server = await startThrowawayServer({
    command: 'redis-server',
    args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    // A server still loading its append-only file answers PING with -LOADING: only +PONG means ready.
    ready: (port) => answers(port, (line) => line.startsWith('+PONG'), 'PING\r\n'),
    ...options,
  })
  return Object.assign(server, { url: `redis://127.0.0.1:${server.port}` })
}
