import { SignJWT, type CryptoKey } from 'jose'

/** What every Tidings token is: an EdDSA-signed JWT of the identity service, naming the member in `sub`. */
export const TOKEN_ALGORITHM = 'EdDSA'
export const TOKEN_ISSUER = 'tidings.identity'
/** Longer tokens are refused before any decoding or signature check; ours are a few hundred characters. */
export const MAX_TOKEN_LENGTH = 4096
/** Where the identity service publishes its public keys (RFC 8615 well-known location, as OpenID does). */
export const JWKS_PATH = '/.well-known/jwks.json'

/**
 * What a member may do beyond their own things, granted by an operator: `staff` runs the business (ships
 * orders, reads any customer's orders), `operator` runs the platform (grants roles, adds credit, the
 * console). Every signed-in member is a member; no role implies another.
 */
export const ROLES = ['staff', 'operator'] as const
export type Role = (typeof ROLES)[number]

/** The claims a verified token vouches for. */
export interface MemberClaims {
  /** The member id (a UUID). */
  sub: string
  /** The member's roles when the token was issued (a change takes effect at the next log-in). */
  roles: Role[]
  /** The token's own id, unique per issue. */
  jti: string
  /** Seconds since the epoch. */
  iat: number
  exp: number
  /**
   * The member's token version when the token was issued (`tv`; 0 in tokens older than the claim). Signing
   * out and changing the password raise the member's version, which refuses every earlier token
   * (`liveMemberVerifier`).
   */
  tv: number
}

/** A private key of the identity service, named by the `kid` its public half is published under. */
export interface SigningKey {
  kid: string
  privateKey: CryptoKey
}

export interface TokenRequest {
  memberId: string
  roles: readonly Role[]
  /** A fresh unique id (UUIDv7), so that one token can be told from another (and revoked). */
  tokenId: string
  now: Date
  ttlSeconds: number
  /** The member's token version now (default 0): the token is good until the member's version moves on. */
  tokenVersion?: number
}

/** The one way a member token is made: EdDSA over `{iss, sub, roles, tv, jti, iat, exp}`, with the key's id in the header. */
export async function signMemberToken(key: SigningKey, request: TokenRequest): Promise<{ token: string; expiresAt: string }> {
  if (!Number.isSafeInteger(request.ttlSeconds) || request.ttlSeconds <= 0) throw new Error('signMemberToken: ttlSeconds must be a positive integer')
  const iat = Math.floor(request.now.getTime() / 1000)
  const exp = iat + request.ttlSeconds
  const tv = request.tokenVersion ?? 0
  if (!isTokenVersion(tv)) throw new Error('signMemberToken: tokenVersion must be a non-negative integer')
  const token = await new SignJWT({ roles: [...request.roles], tv })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', kid: key.kid })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(request.memberId)
    .setJti(request.tokenId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey)
  return { token, expiresAt: new Date(exp * 1000).toISOString() }
}

/** A token version is a count of revocations: a non-negative safe integer. */
export function isTokenVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}
