import { execFile } from 'node:child_process'
import { chown } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startThrowawayServer, type ThrowawayServer } from './throwaway-server'

const run = promisify(execFile)

/** A throwaway PostgreSQL server (its cluster in `dataDir`), for tests that kill and restart a service's database. */
export interface PostgresServer extends ThrowawayServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string
}

/** Where the server programs are (`pg_config --bindir`): `initdb` and `postgres` are rarely on the PATH. */
async function binDir(): Promise<string> {
  return (await run('pg_config', ['--bindir'])).stdout.trim()
}

/** PostgreSQL refuses to run as root: then the cluster belongs to, and the server runs as, `postgres`. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/**
 * Initialises a cluster and starts `postgres` on a free port. `kill` SIGKILLs the postmaster (a crash:
 * its backends exit, and it recovers from its WAL when restarted); `stop` is a fast shutdown (SIGINT),
 * which does not wait for clients to disconnect. fsync is off: killing processes loses nothing the OS has.
 */
export async function startPostgresServer(options: { readyTimeoutMs?: number } = {}): Promise<PostgresServer> {
  const bin = await binDir()
  const user = await serverUser()
  const server = await startThrowawayServer({
    command: join(bin, 'postgres'),
    args: (port, dir) => ['-D', join(dir, 'cluster'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    async prepare(_port, dir) {
      if (user) await chown(dir, user.uid, user.gid)
      await run(join(bin, 'initdb'), ['-D', join(dir, 'cluster'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], { ...user, cwd: dir })
    },
    ready: async (port) => (await run('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q']).then(() => true, () => false)),
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    processGroup: true,
    stopSignal: 'SIGINT',
    ...(user ? { user } : {}),
  })
  const restart = server.restart.bind(server)
  return Object.assign(server, {
    url: `postgres://postgres@127.0.0.1:${server.port}/postgres`,
    // Backends are process group leaders of their own: a killed postmaster's backends notice its death and
    // exit on their own, and until they have, its shared memory is in use and a new one refuses to start.
    async restart() {
      for (let attempt = 1; ; attempt++) {
        try {
          return await restart()
        } catch (error) {
          if (attempt >= 50) throw error
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      }
    },
  })
}
