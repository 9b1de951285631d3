import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { InvalidToken, TokenExpired } from './auth-errors'
import { MAX_TOKEN_LENGTH, signToken, verifyToken } from './jwt'

const secret = 'a-test-secret-that-is-long-enough-0123456789'
const now = new Date('2030-01-01T00:00:00Z')
const nowSeconds = now.getTime() / 1000
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000)

const token = signToken({ sub: 'member-1', role: 'admin' }, secret, { now, ttlSeconds: 3600 })

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

/** A token with any header and payload, correctly signed with `key`: what an attacker holding the key could make. */
function forge(header: unknown, payload: unknown, key: string = secret): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
}

const HS256 = { alg: 'HS256', typ: 'JWT' }
const claims = { sub: 'member-1', iat: nowSeconds, exp: nowSeconds + 60 }

describe('signToken', () => {
  it('makes a compact HS256 JWT with iat and exp in seconds', () => {
    const [header, payload] = token.split('.')
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toEqual({
      sub: 'member-1',
      role: 'admin',
      iat: nowSeconds,
      exp: nowSeconds + 3600,
    })
  })

  it('does not let the caller set iat or exp', () => {
    const t = signToken({ sub: 'm', exp: 9_999_999_999, iat: 0 }, secret, { now, ttlSeconds: 10 })
    expect(verifyToken(t, secret, now)).toEqual({ sub: 'm', iat: nowSeconds, exp: nowSeconds + 10 })
  })

  it('refuses an empty subject, a non-positive ttl and an empty secret', () => {
    expect(() => signToken({ sub: '' }, secret, { now, ttlSeconds: 10 })).toThrow(/sub/)
    expect(() => signToken({ sub: 'm' }, secret, { now, ttlSeconds: 0 })).toThrow(/ttlSeconds/)
    expect(() => signToken({ sub: 'm' }, '', { now, ttlSeconds: 10 })).toThrow(/secret/)
  })
})

describe('verifyToken', () => {
  it('returns the claims of a token it signed', () =>
    given(token)
      .when((t) => verifyToken(t, secret, later(10)))
      .thenExpect((c) => expect(c).toEqual({ sub: 'member-1', iat: nowSeconds, exp: nowSeconds + 3600 })))

  it('accepts a Buffer secret as well as a string', () => {
    const key = Buffer.from(secret)
    expect(verifyToken(signToken({ sub: 'm' }, key, { now, ttlSeconds: 5 }), key, now).sub).toBe('m')
    expect(verifyToken(signToken({ sub: 'm' }, key, { now, ttlSeconds: 5 }), secret, now).sub).toBe('m')
  })

  it('accepts a token up to the last second before exp', () => expect(verifyToken(token, secret, later(3599.999)).sub).toBe('member-1'))

  it('throws TokenExpired at exp', () => given(token).when((t) => verifyToken(t, secret, later(3600))).thenThrows(TokenExpired, 'TOKEN_EXPIRED'))

  it('throws TokenExpired after exp', () => given(token).when((t) => verifyToken(t, secret, later(86_400))).thenThrows(TokenExpired, 'TOKEN_EXPIRED'))

  it('is of kind unauthorized, whether expired or invalid', () => {
    expect(new TokenExpired().kind).toBe('unauthorized')
    expect(new InvalidToken().kind).toBe('unauthorized')
  })

  it('refuses a token signed with another secret', () =>
    given(signToken({ sub: 'member-1' }, 'another-secret-that-is-long-enough-0123', { now, ttlSeconds: 60 }))
      .when((t) => verifyToken(t, secret, now))
      .thenThrows(InvalidToken, 'INVALID_TOKEN'))

  it('refuses a tampered payload', () => {
    const [header, , sig] = token.split('.')
    const tampered = `${header}.${b64({ sub: 'member-2', iat: nowSeconds, exp: nowSeconds + 3600 })}.${sig}`
    given(tampered).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
  })

  it('refuses a tampered signature', () => {
    const [header, payload, sig] = token.split('.')
    const flipped = sig!.slice(0, 10) + (sig![10] === 'A' ? 'B' : 'A') + sig!.slice(11)
    given(`${header}.${payload}.${flipped}`).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
  })

  it('refuses a non-canonical spelling of the right signature', () => {
    // 32 bytes take 43 base64url characters; the last one carries 2 unused bits that decoders ignore.
    const [header, payload, sig] = token.split('.')
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(sig!.at(-1)!)
    const respelled = `${sig!.slice(0, -1)}${alphabet[last ^ 1]}`
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(sig!, 'base64url'))
    given(`${header}.${payload}.${respelled}`).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
  })

  it('refuses alg none, with or without a signature', () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}`
    given(`${unsigned}.`).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
    given(forge({ alg: 'none', typ: 'JWT' }, claims)).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
  })

  it.each([
    ['HS512', { alg: 'HS512', typ: 'JWT' }],
    ['hs256 in lower case', { alg: 'hs256', typ: 'JWT' }],
    ['RS256', { alg: 'RS256', typ: 'JWT' }],
    ['no alg', { typ: 'JWT' }],
    ['another typ', { alg: 'HS256', typ: 'at+jwt' }],
    ['a critical extension', { alg: 'HS256', typ: 'JWT', crit: ['exp'] }],
    ['an array header', ['HS256']],
  ])('refuses a header with %s, even when the HMAC is right', (_, header) =>
    given(forge(header, claims)).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN'))

  it('accepts a header without typ', () => expect(verifyToken(forge({ alg: 'HS256' }, claims), secret, now).sub).toBe('member-1'))

  it.each([
    ['no sub', { iat: nowSeconds, exp: nowSeconds + 60 }],
    ['an empty sub', { sub: '', iat: nowSeconds, exp: nowSeconds + 60 }],
    ['a numeric sub', { sub: 42, iat: nowSeconds, exp: nowSeconds + 60 }],
    ['no exp', { sub: 'm', iat: nowSeconds }],
    ['a string exp', { sub: 'm', iat: nowSeconds, exp: String(nowSeconds + 60) }],
    ['no iat', { sub: 'm', exp: nowSeconds + 60 }],
    ['an array payload', [claims]],
    ['a null payload', null],
    ['a string payload', 'member-1'],
  ])('refuses a payload with %s', (_, payload) =>
    given(forge(HS256, payload)).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN'))

  it('refuses a payload that is not JSON', () =>
    given(forge(HS256, '{"sub":"m",')).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN'))

  it.each([
    ['empty', ''],
    ['one part', 'abc'],
    ['two parts', 'a.b'],
    ['three junk parts', 'a.b.c'],
    ['four parts', `${token}.d`],
    ['empty parts', '..'],
    ['an empty signature', `${token.split('.').slice(0, 2).join('.')}.`],
    ['not base64url', `${token.split('.')[0]}.${'***'}.${token.split('.')[2]}`],
    ['padded base64', `${token.split('.')[0]}==.${token.split('.')[1]}.${token.split('.')[2]}`],
    ['standard base64 characters', token.replace(/-/g, '+').replace(/_/g, '/') + '+/'],
    ['whitespace', ` ${token}`],
    ['a header that is not JSON', `${b64('not json')}.${token.split('.')[1]}.${token.split('.')[2]}`],
    ['a header that is not UTF-8', `${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.${token.split('.')[1]}.${token.split('.')[2]}`],
  ])('refuses garbage: %s', (_, garbage) => given(garbage).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN'))

  it('refuses something that is not a string at all', () =>
    given(undefined as unknown as string).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN'))

  it('refuses an oversize token before looking inside', () => {
    const huge = forge(HS256, { ...claims, padding: 'x'.repeat(MAX_TOKEN_LENGTH) })
    expect(huge.length).toBeGreaterThan(MAX_TOKEN_LENGTH)
    given(huge).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
    given('a'.repeat(1_000_000)).when((t) => verifyToken(t, secret, now)).thenThrows(InvalidToken, 'INVALID_TOKEN')
  })

  it('never echoes the token in its messages', () => {
    const expired = (() => {
      try {
        verifyToken(token, secret, later(7200))
      } catch (error) {
        return error as Error
      }
    })()
    const forged = (() => {
      try {
        verifyToken(forge(HS256, claims, 'another-secret-that-is-long-enough-0123'), secret, now)
      } catch (error) {
        return error as Error
      }
    })()
    for (const error of [expired, forged]) {
      expect(error).toBeDefined()
      for (const part of token.split('.')) expect(error!.message).not.toContain(part)
      expect(JSON.stringify(error)).not.toContain(token.split('.')[2])
    }
  })
})
