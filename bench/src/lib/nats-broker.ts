import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { partitionOf } from '@tidings/core'
import { natsTransport, partitionSubject, streamName, type NatsTransport } from '@tidings/nats'
import type { OpenedBroker, TransportOptions } from './brokers'

/** NATS JetStream's transport for a bench. */
export function natsAt(url: string, options: TransportOptions): Promise<NatsTransport> {
  const { partitions, maxInFlight, timeoutMs } = options
  return natsTransport({ servers: url, partitions, maxInFlight, timeoutMs, name: `tidings-bench-${options.name}` })
}

/** The server's version, from a plain connection that fails at once without a server. */
export async function probeNats(url: string, timeoutMs: number): Promise<string> {
  const probe = await connect({ servers: url, name: 'tidings-bench-probe', timeout: timeoutMs })
  const version = probe.info?.version ?? '?'
  await probe.close()
  return version
}

/** The transport and, beside it, `js.publish` on a plain connection of the same library (`msgID` = envelope id). */
export async function openNats(url: string, options: TransportOptions): Promise<OpenedBroker> {
  const timeout = options.timeoutMs ?? 5_000
  // The plain connection first: it fails at once without a server (the transport would wait for one).
  const nc = await connect({ servers: url, name: 'tidings-bench-raw', timeout })
  const jsm = await jetstreamManager(nc, { timeout })
  const transport = await natsAt(url, options)
  const js = jetstream(nc, { timeout })
  return {
    transport,
    sender: (source) => {
      const subjects = Array.from({ length: options.partitions }, (_, p) => partitionSubject(source, p))
      return (e) => js.publish(subjects[partitionOf(e.key, options.partitions)]!, JSON.stringify(e), { msgID: e.id, timeout })
    },
    stored: async (source) => (await jsm.streams.info(streamName(source))).state.messages,
    drop: async (source) => {
      await jsm.streams.delete(streamName(source)).catch((error: unknown) => {
        console.error(`could not delete stream ${streamName(source)}:`, error)
      })
    },
    close: async () => {
      await transport.close()
      await nc.close()
    },
  }
}
