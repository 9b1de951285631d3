import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { systemClock, TidingsError, type Clock } from '@tidings/core'
import { IdentityUnavailable, InvalidToken, TokenExpired } from './auth-errors'
import { isTokenVersion, MAX_TOKEN_LENGTH, ROLES, TOKEN_ALGORITHM, TOKEN_ISSUER, type MemberClaims, type Role } from './member-token'

/** Finds the public key a token names (its `kid`); jose's key-set functions are key sources. */
export type KeySource = JWTVerifyGetKey

/** Checks a bearer token and returns its claims, or throws a `TidingsError` (kind `unauthorized`, or `unavailable` when the keys cannot be fetched). */
export type TokenVerifier = (token: string) => Promise<MemberClaims>

/** How many verified tokens are remembered: a client sends the same token with every request for an hour. */
const VERIFIED_CACHE_SIZE = 10_000
/** jose's codes for a key set that could not be fetched or read (a failed fetch is a plain TypeError). */
const KEYS_UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The identity service's public keys fetched from its JWKS route (`IDENTITY_URL` + `JWKS_PATH`): fetched once,
 * again after ten minutes, and again when a token names a key not seen yet (a rotation: a new key is
 * published ten minutes before it signs) — but at most once per `cooldownMs` (30 s), so that tokens with
 * made-up key ids cannot turn every request into a fetch.
 */
export function remoteKeys(jwksUrl: string | URL, options: { cooldownMs?: number } = {}): KeySource {
  return createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: options.cooldownMs ?? 30_000, cacheMaxAge: 600_000, timeoutDuration: 5_000 })
}

/**
 * Verifies the identity service's tokens with its public keys only: a service that checks tokens holds
 * nothing that could mint one. Only EdDSA and our issuer are accepted, whatever the header asks for; the
 * subject must be a member id (a UUID), so that a forged-looking subject never reaches a uuid column.
 * A verified token is remembered until it expires, so a signature is checked once per token, not per request.
 */
export function tokenVerifier(keys: KeySource, options: { clock?: Clock } = {}): TokenVerifier {
  const clock = options.clock ?? systemClock
  const verified = new Map<string, MemberClaims>()
  return async (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidToken()
    const now = clock.now()
    const known = verified.get(token)
    if (known) {
      if (known.exp * 1000 > now.getTime()) return known
      verified.delete(token)
      throw new TokenExpired()
    }
    const claims = await verify(token, keys, now)
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!)
    verified.set(token, claims)
    return claims
  }
}

async function verify(token: string, keys: KeySource, now: Date): Promise<MemberClaims> {
  try {
    const { payload } = await jwtVerify(token, keys, { algorithms: [TOKEN_ALGORITHM], issuer: TOKEN_ISSUER, currentDate: now, requiredClaims: ['sub', 'jti', 'iat', 'exp'] })
    const { sub, jti, iat, exp, roles = [], tv = 0 } = payload
    if (typeof sub !== 'string' || !UUID.test(sub) || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number' || !isRoles(roles) || !isTokenVersion(tv)) throw new InvalidToken()
    return { sub, roles, jti, iat, exp, tv }
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new TokenExpired()
    if (error instanceof TidingsError && error.kind === 'unavailable') throw error
    // The keys could not be had (identity down, or answering nonsense): not the client's fault, and no
    // reason to sign it out. Everything else jose or we refuse is the token's fault.
    if (!(error instanceof TidingsError || error instanceof errors.JOSEError) || KEYS_UNAVAILABLE.has(error.code)) throw new IdentityUnavailable()
    throw new InvalidToken()
  }
}

/** Roles are a list of names we know; anything else in a genuine token means it is not one of ours. */
function isRoles(roles: unknown): roles is Role[] {
  return Array.isArray(roles) && roles.length <= ROLES.length && roles.every((role) => (ROLES as readonly unknown[]).includes(role))
}
