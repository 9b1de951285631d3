import { TidingsError } from '@tidings/core'

// Messages are fixed strings: they reach the client and the logs, so they never carry the token itself.

/** The request carries no bearer token at all. */
export class MissingToken extends TidingsError {
  constructor() {
    super('UNAUTHORIZED', 'unauthorized', 'A bearer token is required')
  }
}

/** The token is malformed, forged, signed with another key or algorithm, or lacks the claims we need. */
export class InvalidToken extends TidingsError {
  constructor() {
    super('INVALID_TOKEN', 'unauthorized', 'The bearer token is not valid')
  }
}

/** The token was genuine but its `exp` has passed; the client should sign in again. */
export class TokenExpired extends TidingsError {
  constructor() {
    super('TOKEN_EXPIRED', 'unauthorized', 'The bearer token has expired')
  }
}

/**
 * A genuine, unexpired token the identity service no longer stands behind: its member signed out or changed
 * their password since it was issued, or the member does not exist (any more). The client should sign in again.
 */
export class TokenRevoked extends TidingsError {
  constructor() {
    super('TOKEN_REVOKED', 'unauthorized', 'The bearer token is no longer valid; sign in again')
  }
}

/** The keys or the member that would check the token could not be had from the identity service: try again later. */
export class IdentityUnavailable extends TidingsError {
  constructor(options?: { cause?: unknown }) {
    super('IDENTITY_UNAVAILABLE', 'unavailable', 'The identity service that vouches for tokens is not answering; try again shortly')
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** A genuine member without the role the route asks for. */
export class RoleRequired extends TidingsError {
  constructor(roles: readonly string[]) {
    super('ROLE_REQUIRED', 'forbidden', `This needs the ${roles.join(' or ')} role`)
  }
}
