import { TidingsError } from '@tidings/core'

/**
 * RabbitMQ did not do what was asked: disconnected, timed out, refused a method, returned a message it
 * could not route. Always transient as far as a message is concerned (kind `unavailable`): a subscription
 * backs off and retries, the relay publishes again, nothing is dead-lettered for it.
 */
export class BrokerUnavailable extends TidingsError {
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('BROKER_UNAVAILABLE', 'unavailable', `RabbitMQ ${operation} failed: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** A source name that cannot make a queue name (`<prefix>.<source>.<partition>`, at most 255 bytes). */
export class InvalidSourceName extends TidingsError {
  constructor(source: string) {
    super('INVALID_SOURCE_NAME', 'validation', `Not a source name a RabbitMQ queue name can carry: ${JSON.stringify(source.slice(0, 80))}`)
  }
}

/** Anything rabbitmq-client threw, as the error the platform understands. */
export function brokerError(operation: string, error: unknown): TidingsError {
  if (error instanceof TidingsError) return error
  const code = (error as { code?: unknown } | null)?.code
  const reason = error instanceof Error ? `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}` : String(error)
  return new BrokerUnavailable(operation, reason, { cause: error })
}

/** Runs one RabbitMQ operation; whatever it throws becomes a `BrokerUnavailable`. */
export async function attempt<T>(operation: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (error) {
    throw brokerError(operation, error)
  }
}
