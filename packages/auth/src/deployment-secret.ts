import { createHash, timingSafeEqual } from 'node:crypto'

/** Shorter shared secrets are refused at start: whoever holds one acts for the whole deployment. */
export const MIN_SECRET_LENGTH = 16

/**
 * A deployment's shared secret (the operator token, the service credential), checked against what a
 * request presents. Compared as hashes in constant time, so neither its length nor a prefix leaks through
 * timing; `undefined` when the deployment has none (nothing matches then).
 */
export function secretMatcher(secret: string | undefined, name: string): ((presented: string | undefined) => boolean) | undefined {
  if (secret === undefined) return undefined
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`${name} must be at least ${MIN_SECRET_LENGTH} characters`)
  const expected = digest(secret)
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), expected)
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()
