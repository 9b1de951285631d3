import { createHmac, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { manualClock, TidingsError } from '@tidings/core'
import { IdentityUnavailable, InvalidToken, TokenExpired } from './auth-errors'
import { TOKEN_ISSUER } from './member-token'
import { testIssuer } from './test-kit'
import { remoteKeys, tokenVerifier } from './token-verifier'

const ANN = '0190a8f2-0000-7000-8000-0000000000a1'
const now = new Date('2030-01-01T00:00:00Z')
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000)
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const parts = (token: string) => token.split('.') as [string, string, string]

async function refusal(promise: Promise<unknown>): Promise<TidingsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TidingsError)
  return error as TidingsError
}

function flipFirstBit(base64url: string): string {
  const bytes = Buffer.from(base64url, 'base64url')
  bytes[0]! ^= 1
  return bytes.toString('base64url')
}

describe('tokenVerifier', () => {
  it("returns a genuine token's claims", async () => {
    const issuer = await testIssuer()
    const claims = await tokenVerifier(issuer.keys, { clock: manualClock(now) })(await issuer.sign(ANN, { now }))
    expect(claims).toEqual({ sub: ANN, roles: [], jti: expect.any(String), iat: now.getTime() / 1000, exp: now.getTime() / 1000 + 3600, tv: 0 })
    const staff = await tokenVerifier(issuer.keys, { clock: manualClock(now) })(await issuer.sign(ANN, { now, roles: ['staff', 'operator'] }))
    expect(staff.roles).toEqual(['staff', 'operator'])
    const revoked = await tokenVerifier(issuer.keys, { clock: manualClock(now) })(await issuer.sign(ANN, { now, tokenVersion: 3 }))
    expect(revoked.tv).toBe(3)
  })

  it('reads a token without a token version (issued before the claim) as version 0', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true })
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] })
    const token = await new SignJWT({ roles: [] }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setIssuer(TOKEN_ISSUER).setSubject(ANN).setJti('x').setIssuedAt(now).setExpirationTime(later(60)).sign(privateKey)
    expect((await tokenVerifier(keys, { clock: manualClock(now) })(token)).tv).toBe(0)
  })

  it('accepts a token up to the last second before exp, and refuses it from exp on as TOKEN_EXPIRED, also once remembered', async () => {
    const issuer = await testIssuer()
    const token = await issuer.sign(ANN, { now })
    const clock = manualClock(later(3599))
    const verify = tokenVerifier(issuer.keys, { clock })
    expect((await verify(token)).sub).toBe(ANN)
    clock.set(later(3600))
    expect(await refusal(verify(token))).toBeInstanceOf(TokenExpired)
    expect(await refusal(tokenVerifier(issuer.keys, { clock })(token))).toBeInstanceOf(TokenExpired)
  })

  it.each([
    ['signed by another key', async () => (await testIssuer()).sign(ANN, { now })],
    ['signed by another key under the same key id', async (kid: string) => (await testIssuer({ kid })).sign(ANN, { now })],
    ['with a swapped payload', async (_kid: string, genuine: string) => `${parts(genuine)[0]}.${b64({ iss: TOKEN_ISSUER, sub: randomUUID(), jti: 'x', iat: 1, exp: 9e9 })}.${parts(genuine)[2]}`],
    // One bit of the signature's first byte flipped (its last characters are often "AA" already: Ed25519's S is below 2^253).
    ['with a tampered signature', async (_kid: string, genuine: string) => `${parts(genuine)[0]}.${parts(genuine)[1]}.${flipFirstBit(parts(genuine)[2])}`],
    ['unsigned (alg none)', async (kid: string) => `${b64({ alg: 'none', kid })}.${b64({ iss: TOKEN_ISSUER, sub: ANN, jti: 'x', iat: 1, exp: 9e9 })}.`],
    ['garbage', async () => 'a.b.c'],
    ['not three parts', async () => 'abc'],
    ['empty', async () => ''],
    ['oversize', async (_kid: string, genuine: string) => `${genuine}${'A'.repeat(5000)}`],
  ])('refuses a token %s as INVALID_TOKEN', async (_name, make) => {
    const issuer = await testIssuer({ kid: 'k1' })
    const genuine = await issuer.sign(ANN, { now })
    expect(await refusal(tokenVerifier(issuer.keys, { clock: manualClock(now) })(await make('k1', genuine)))).toBeInstanceOf(InvalidToken)
  })

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const { publicKey } = await generateKeyPair('EdDSA', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64({ iss: TOKEN_ISSUER, sub: ANN, jti: 'x', iat: 1, exp: 9e9 })}`
    const token = `${input}.${createHmac('sha256', Buffer.from(jwk.x!, 'base64url')).update(input).digest('base64url')}`
    expect(await refusal(tokenVerifier(createLocalJWKSet({ keys: [jwk] }), { clock: manualClock(now) })(token))).toBeInstanceOf(InvalidToken)
  })

  it.each([
    ['another issuer', { iss: 'someone.else', sub: ANN, jti: 'x' }],
    ['no issuer', { sub: ANN, jti: 'x' }],
    ['a subject that is not a member id', { iss: TOKEN_ISSUER, sub: "'; DROP TABLE members; --", jti: 'x' }],
    ['no token id', { iss: TOKEN_ISSUER, sub: ANN }],
    ['a role we do not know', { iss: TOKEN_ISSUER, sub: ANN, jti: 'x', roles: ['admin'] }],
    ['roles that are not a list', { iss: TOKEN_ISSUER, sub: ANN, jti: 'x', roles: 'staff' }],
    ['a negative token version', { iss: TOKEN_ISSUER, sub: ANN, jti: 'x', tv: -1 }],
    ['a token version that is not a whole number', { iss: TOKEN_ISSUER, sub: ANN, jti: 'x', tv: '1' }],
  ])('refuses a validly signed token with %s', async (_name, claims) => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true })
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] })
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setIssuedAt(now).setExpirationTime(later(60)).sign(privateKey)
    expect(await refusal(tokenVerifier(keys, { clock: manualClock(now) })(token))).toBeInstanceOf(InvalidToken)
  })

  it('never echoes the token in its errors', async () => {
    const issuer = await testIssuer()
    const token = await (await testIssuer()).sign(ANN, { now })
    const error = await refusal(tokenVerifier(issuer.keys, { clock: manualClock(now) })(token))
    for (const part of parts(token)) expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(part)
  })
})

describe('remoteKeys', () => {
  let server: Server | undefined
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

  /** A JWKS endpoint serving whatever `jwks()` says now, counting its requests. */
  async function jwksServer(jwks: () => unknown): Promise<{ url: string; requests: () => number }> {
    let requests = 0
    server = createServer((_req, res) => {
      requests++
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks()))
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, requests: () => requests }
  }

  async function keyPair(kid: string) {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' }
    const sign = () => new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'EdDSA', kid }).setIssuer(TOKEN_ISSUER).setSubject(ANN).setIssuedAt().setExpirationTime('1h').sign(privateKey)
    return { jwk, sign }
  }

  it('fetches the keys once, remembers verified tokens, and fetches again for a key it has not seen (a rotation)', async () => {
    const first = await keyPair('first')
    const second = await keyPair('second')
    let published = [first.jwk]
    const identity = await jwksServer(() => ({ keys: published }))
    const verify = tokenVerifier(remoteKeys(identity.url, { cooldownMs: 0 }))
    const token = await first.sign()
    expect((await verify(token)).sub).toBe(ANN)
    expect((await verify(token)).sub).toBe(ANN)
    expect((await verify(await first.sign())).sub).toBe(ANN)
    expect(identity.requests()).toBe(1)
    published = [first.jwk, second.jwk]
    expect((await verify(await second.sign())).sub).toBe(ANN)
    expect(identity.requests()).toBe(2)
  })

  it('does not fetch again for every made-up key id within the cooldown', async () => {
    const genuine = await keyPair('genuine')
    const identity = await jwksServer(() => ({ keys: [genuine.jwk] }))
    const verify = tokenVerifier(remoteKeys(identity.url))
    expect((await verify(await genuine.sign())).sub).toBe(ANN)
    for (let i = 0; i < 20; i++) expect(await refusal(verify(await (await keyPair(`forged-${i}`)).sign()))).toBeInstanceOf(InvalidToken)
    expect(identity.requests()).toBe(1)
  })

  it('answers IDENTITY_UNAVAILABLE (503), not 401, while the keys cannot be fetched', async () => {
    const identity = await jwksServer(() => ({ keys: [] }))
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    server = undefined
    const error = await refusal(tokenVerifier(remoteKeys(identity.url))(await (await keyPair('k')).sign()))
    expect(error).toBeInstanceOf(IdentityUnavailable)
    expect(error.kind).toBe('unavailable')
  })

  it('answers IDENTITY_UNAVAILABLE when the identity service answers nonsense', async () => {
    const identity = await jwksServer(() => 'not a key set')
    expect(await refusal(tokenVerifier(remoteKeys(identity.url))(await (await keyPair('k')).sign()))).toBeInstanceOf(IdentityUnavailable)
  })
})
