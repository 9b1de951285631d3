import { TidingsError } from './errors'

/**
 * A broker did not do what was asked: disconnected, timed out, refused a request. Always transient as far
 * as a message is concerned (kind `unavailable`): a subscription backs off and retries, the relay publishes
 * again, nothing is dead-lettered for it.
 */
export class BrokerUnavailable extends TidingsError {
  constructor(broker: string, operation: string, reason: string, options?: { cause?: unknown }) {
    super('BROKER_UNAVAILABLE', 'unavailable', `${broker} ${operation} failed: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/**
 * A partition ends before a position its reader was asked to read after: the broker lost messages it had
 * acknowledged (a server that came back without its tail), or the stream was deleted and made again. Its
 * next messages would reuse the lost positions, and a reader that went on from its checkpoint would skip
 * them; so it reads nothing, and says so on every attempt (kind `unavailable`: the subscription retries
 * and logs it, nothing is dead-lettered) until an operator rebuilds the consumer (reset: from the start).
 */
export class BrokerLostMessages extends TidingsError {
  constructor(broker: string, partition: string, end: string, after: string) {
    super('BROKER_LOST_MESSAGES', 'unavailable', `${broker} ${partition} ends at ${end}, before ${after} that was read: the broker lost messages or the stream was made again; rebuild the consumer`)
  }
}

export interface BrokerErrors {
  /** Anything the broker's client threw, as the error the platform understands (a TidingsError stays as it is). */
  brokerError(operation: string, error: unknown): TidingsError
  /** Runs one broker operation; whatever it throws becomes a `BrokerUnavailable`. */
  attempt<T>(operation: string, op: () => Promise<T>): Promise<T>
}

/** One broker adapter's error handling: `unavailable` builds its error, `reasonOf` describes a client's error. */
export function brokerErrors(
  unavailable: (operation: string, reason: string, options: { cause: unknown }) => TidingsError,
  reasonOf: (error: Error) => string = (error) => `${error.name}: ${error.message}`,
): BrokerErrors {
  const brokerError = (operation: string, error: unknown): TidingsError => {
    if (error instanceof TidingsError) return error
    return unavailable(operation, error instanceof Error ? reasonOf(error) : String(error), { cause: error })
  }
  return {
    brokerError,
    async attempt(operation, op) {
      try {
        return await op()
      } catch (error) {
        throw brokerError(operation, error)
      }
    },
  }
}
