/** The ways a request can fail, as the edge sees them; only the HTTP layer maps kinds to statuses. */
export type ErrorKind =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthorized'
  | 'too_large'
  /** Well-formed and understood, but not something that can be done (e.g. a key reused for another request). */
  | 'unprocessable'
  | 'unavailable'

export class TidingsError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
    this.name = new.target.name
  }
}

export class ValidationFailed extends TidingsError {
  constructor(readonly fields: Array<{ path: string; message: string }>, message = 'The request is not valid') {
    super('VALIDATION', 'validation', message, { fields })
  }
}

export class MalformedEnvelope extends TidingsError {
  constructor(reason: string) {
    super('MALFORMED_ENVELOPE', 'validation', `Malformed envelope: ${reason}`)
  }
}

export class UnknownEventType extends TidingsError {
  constructor(readonly type: string) {
    super('UNKNOWN_EVENT_TYPE', 'validation', `No handler knows the event type ${JSON.stringify(type)}`)
  }
}

export class InvalidPosition extends TidingsError {
  constructor(value: string) {
    super('INVALID_POSITION', 'validation', `Not a feed position: ${JSON.stringify(value.slice(0, 80))}`)
  }
}

export class PayloadTooLarge extends TidingsError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', 'too_large', `The payload exceeds ${limitBytes} bytes`)
  }
}

export class UnknownFeed extends TidingsError {
  constructor(source: string) {
    super('UNKNOWN_FEED', 'not_found', `No feed named ${JSON.stringify(source.slice(0, 80))}`)
  }
}

export class LeaseLost extends TidingsError {
  constructor(name: string) {
    super('LEASE_LOST', 'conflict', `This instance no longer holds the lease ${name}`)
  }
}

export class VersionConflict extends TidingsError {
  constructor(key: string, version: number) {
    super('VERSION_CONFLICT', 'conflict', `Event ${version} of ${key} was already written`)
  }
}

export class UnsupportedCharacter extends TidingsError {
  constructor(where: string) {
    super('UNSUPPORTED_CHARACTER', 'validation', `${where} contains a character that cannot be stored (NUL or a lone UTF-16 surrogate)`)
  }
}
