import { partitionOf, START } from '@tidings/core'
import { rabbitmqTransport, type RabbitMqTransport } from '@tidings/rabbitmq'
import { Connection } from 'rabbitmq-client'
import type { OpenedBroker, TransportOptions } from './brokers'

/** RabbitMQ's transport (stream queues) for a bench. */
export function rabbitmqAt(url: string, options: TransportOptions): Promise<RabbitMqTransport> {
  const { partitions, maxInFlight, timeoutMs, prefix } = options
  return rabbitmqTransport({ url, partitions, maxInFlight, timeoutMs, prefix, name: `tidings-bench-${options.name}` })
}

/** Whether a server answers (rabbitmq-client does not tell its version). */
export async function probeRabbitMq(url: string, timeoutMs: number): Promise<undefined> {
  const probe = new Connection({ url, connectionTimeout: timeoutMs })
  probe.on('error', () => {})
  try {
    await probe.onConnect(timeoutMs)
  } finally {
    await probe.close()
  }
  return undefined
}

/**
 * The transport and, beside it, `basicPublish` on a confirm-mode channel of the same client (default
 * exchange to the partition's queue, mandatory, persistent, `messageId`, `type`, the JSON as a Buffer).
 */
export async function openRabbitMq(url: string, options: TransportOptions): Promise<OpenedBroker> {
  const transport = await rabbitmqAt(url, options)
  const raw = new Connection({ url, connectionName: 'tidings-bench-raw', frameMax: 131_072, noDelay: true })
  raw.on('error', () => {})
  const channel = await raw.acquire()
  await channel.confirmSelect()
  const queues = (source: string) => Array.from({ length: options.partitions }, (_, p) => transport.queueOf(source, p))
  return {
    transport,
    sender: (source) => {
      const targets = queues(source)
      return (e) =>
        channel.basicPublish(
          { routingKey: targets[partitionOf(e.key, options.partitions)]!, mandatory: true, durable: true, messageId: e.id, type: e.type },
          Buffer.from(JSON.stringify(e)),
        )
    },
    stored: async (source) => {
      const lags = await Promise.all(queues(source).map((_, p) => transport.partition(source, p, 'bench').lag(START)))
      return lags.reduce((n, lag) => n + lag.events, 0)
    },
    drop: async (source) => {
      for (const queue of queues(source)) await raw.queueDelete({ queue }).catch((error: unknown) => console.error(`could not delete queue ${queue}:`, error))
    },
    close: async () => {
      await channel.close()
      await raw.close()
      await transport.close()
    },
  }
}
