import { answers, startThrowawayServer, type ThrowawayServer } from './throwaway-server'

/** A throwaway `nats-server` with JetStream (its store in `dataDir`), for tests that stop, kill and restart the broker. */
export interface NatsServer extends ThrowawayServer {
  readonly url: string
}

export async function startNatsServer(options: { readyTimeoutMs?: number } = {}): Promise<NatsServer> {
  const server = await startThrowawayServer({
    command: 'nats-server',
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    // nats-server enables JetStream (and restores its streams) before it accepts clients, so the first
    // INFO line means the broker is ready for JetStream requests.
    ready: (port) => answers(port, (line) => line.startsWith('INFO')),
    ...options,
  })
  return Object.assign(server, { url: `nats://127.0.0.1:${server.port}` })
}
