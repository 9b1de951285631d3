import { createHmac, timingSafeEqual } from 'node:crypto'
import { InvalidToken, TokenExpired } from './auth-errors'

/** Longer tokens are refused before any decoding or hashing; ours are a few hundred characters. */
export const MAX_TOKEN_LENGTH = 4096

/** The claims a verified token vouches for. */
export interface VerifiedClaims {
  sub: string
  exp: number
  iat: number
}

export interface SignOptions {
  now: Date
  ttlSeconds: number
}

export type TokenSecret = Buffer | string

const HEADER = encodeJson({ alg: 'HS256', typ: 'JWT' })
const BASE64URL = /^[A-Za-z0-9_-]+$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A compact HS256 JWT carrying `claims` plus `iat` and `exp` (seconds since the epoch), which always win. */
export function signToken(claims: { sub: string; [k: string]: unknown }, secret: TokenSecret, options: SignOptions): string {
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new Error('signToken: sub must be a non-empty string')
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) throw new Error('signToken: ttlSeconds must be a positive integer')
  const iat = Math.floor(options.now.getTime() / 1000)
  const signingInput = `${HEADER}.${encodeJson({ ...claims, iat, exp: iat + options.ttlSeconds })}`
  return `${signingInput}.${signature(signingInput, secret)}`
}

/**
 * Checks a token signed by `signToken` and returns its claims. A token whose signature holds but whose
 * `exp` is not after `now` is `TokenExpired`; anything else wrong is `InvalidToken`, with no hint of which
 * check failed. Only HS256 is accepted, whatever the header asks for.
 */
export function verifyToken(token: string, secret: TokenSecret, now: Date): VerifiedClaims {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidToken()
  const parts = token.split('.')
  if (parts.length !== 3) throw new InvalidToken()
  const [header, payload, given] = parts as [string, string, string]
  if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(given)) throw new InvalidToken()

  const head = decodeJsonObject(header)
  // `crit` names extensions we would have to understand to honour the token (RFC 7515 §4.1.11); we understand none.
  if (head.alg !== 'HS256' || (head.typ !== undefined && head.typ !== 'JWT') || head.crit !== undefined) throw new InvalidToken()

  // Comparing the encoded forms also refuses non-canonical base64url spellings of the right signature.
  const expected = Buffer.from(signature(`${header}.${payload}`, secret))
  const actual = Buffer.from(given)
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new InvalidToken()

  const claims = decodeJsonObject(payload)
  const { sub, exp, iat } = claims
  if (typeof sub !== 'string' || sub === '' || !isNumericDate(exp) || !isNumericDate(iat)) throw new InvalidToken()
  if (exp * 1000 <= now.getTime()) throw new TokenExpired()
  return { sub, exp, iat }
}

function signature(signingInput: string, secret: TokenSecret): string {
  if (secret.length === 0) throw new Error('JWT secret must not be empty')
  return createHmac('sha256', secret).update(signingInput).digest('base64url')
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function decodeJsonObject(part: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(Buffer.from(part, 'base64url')))
  } catch {
    throw new InvalidToken()
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidToken()
  return value as Record<string, unknown>
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
