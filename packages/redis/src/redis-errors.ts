import { TidingsError } from '@tidings/core'

/**
 * Redis did not do what was asked: disconnected, timed out, refused a command. Always transient as far as
 * a message is concerned (kind `unavailable`): a subscription backs off and retries, the relay publishes
 * again, nothing is dead-lettered for it.
 */
export class BrokerUnavailable extends TidingsError {
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('BROKER_UNAVAILABLE', 'unavailable', `Redis ${operation} failed: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** Anything an ioredis call threw, as the error the platform understands. */
export function brokerError(operation: string, error: unknown): TidingsError {
  if (error instanceof TidingsError) return error
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new BrokerUnavailable(operation, reason, { cause: error })
}

/** Runs one Redis operation; whatever it throws becomes a `BrokerUnavailable`. */
export async function attempt<T>(operation: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (error) {
    throw brokerError(operation, error)
  }
}
