import { brokerErrors, BrokerUnavailable as PlatformBrokerUnavailable } from '@tidings/core'

/** Redis did not do what was asked (see the platform's `BrokerUnavailable`). */
export class BrokerUnavailable extends PlatformBrokerUnavailable {
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('Redis', operation, reason, options)
  }
}

/** Anything the Redis client threw as the error the platform understands, and one operation run so. */
export const { brokerError, attempt } = brokerErrors((operation, reason, options) => new BrokerUnavailable(operation, reason, options))
