import { TidingsError } from '@tidings/core'

/**
 * The broker did not do what was asked: disconnected, timed out, refused a request. Always transient as
 * far as a message is concerned (kind `unavailable`): a subscription backs off and retries, the relay
 * publishes again, nothing is dead-lettered for it.
 */
export class BrokerUnavailable extends TidingsError {
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('BROKER_UNAVAILABLE', 'unavailable', `NATS ${operation} failed: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** A source name that cannot be a NATS subject token sequence (`tidings.<source>.<partition>`). */
export class InvalidSourceName extends TidingsError {
  constructor(source: string) {
    super('INVALID_SOURCE_NAME', 'validation', `Not a source name a NATS subject can carry: ${JSON.stringify(source.slice(0, 80))}`)
  }
}

/** Anything a NATS call threw, as the error the platform understands. */
export function brokerError(operation: string, error: unknown): TidingsError {
  if (error instanceof TidingsError) return error
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new BrokerUnavailable(operation, reason, { cause: error })
}
