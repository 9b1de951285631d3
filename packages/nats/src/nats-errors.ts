import { brokerErrors, BrokerUnavailable as PlatformBrokerUnavailable, TidingsError } from '@tidings/core'

/** NATS did not do what was asked (see the platform's `BrokerUnavailable`). */
export class BrokerUnavailable extends PlatformBrokerUnavailable {
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('NATS', operation, reason, options)
  }
}

/** A source name that cannot be a NATS subject token sequence (`tidings.<source>.<partition>`). */
export class InvalidSourceName extends TidingsError {
  constructor(source: string) {
    super('INVALID_SOURCE_NAME', 'validation', `Not a source name a NATS subject can carry: ${JSON.stringify(source.slice(0, 80))}`)
  }
}

/** Anything the NATS client threw as the error the platform understands, and one operation run so. */
export const { brokerError, attempt } = brokerErrors((operation, reason, options) => new BrokerUnavailable(operation, reason, options))
