import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, exportJWK, generateKeyPair } from 'jose'
import { TOKEN_ALGORITHM, signMemberToken, type Role } from '../member-token'
import type { KeySource } from '../token-verifier'

export interface TestIssuer {
  /** Its public key, as a verifier would fetch it. */
  keys: KeySource
  /** A token in every way like the identity service's, signed with this issuer's key. */
  sign(memberId: string, options?: { now?: Date; ttlSeconds?: number; roles?: Role[]; tokenVersion?: number }): Promise<string>
}

/** An issuer of its own, for tests of verification without an identity service (or to forge tokens for one). */
export async function testIssuer(options: { kid?: string } = {}): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true })
  const kid = options.kid ?? randomUUID()
  return {
    keys: createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALGORITHM }] }),
    sign: async (memberId, { now = new Date(), ttlSeconds = 3600, roles = [], tokenVersion = 0 } = {}) =>
      (await signMemberToken({ kid, privateKey }, { memberId, roles, tokenId: randomUUID(), now, ttlSeconds, tokenVersion })).token,
  }
}

/** A forger's token: the identity service's format, a key of its own (under `kid`, e.g. a real key's id). */
export async function strangerToken(memberId: string, options: { kid?: string; now?: Date; roles?: Role[] } = {}): Promise<string> {
  return (await testIssuer(options.kid ? { kid: options.kid } : {})).sign(memberId, { ...(options.now ? { now: options.now } : {}), roles: options.roles ?? [] })
}
