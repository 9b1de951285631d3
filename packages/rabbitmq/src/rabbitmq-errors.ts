import { brokerErrors, BrokerUnavailable as PlatformBrokerUnavailable, TidingsError } from '@tidings/core'

/** RabbitMQ did not do what was asked (see the platform's `BrokerUnavailable`). */
export class BrokerUnavailable extends PlatformBrokerUnavailable {
  constructor(operation: string, reason: string, options?: { cause?: unknown }) {
    super('RabbitMQ', operation, reason, options)
  }
}

/** A source name that cannot make a queue name (`<prefix>.<source>.<partition>`, at most 255 bytes). */
export class InvalidSourceName extends TidingsError {
  constructor(source: string) {
    super('INVALID_SOURCE_NAME', 'validation', `Not a source name a RabbitMQ queue name can carry: ${JSON.stringify(source.slice(0, 80))}`)
  }
}

/** Anything the RabbitMQ client threw as the error the platform understands, and one operation run so. */
export const { brokerError, attempt } = brokerErrors((operation, reason, options) => new BrokerUnavailable(operation, reason, options), (error) => {
  const code = (error as { code?: unknown }).code
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`
})
