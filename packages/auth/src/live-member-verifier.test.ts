import { describe, expect, it } from 'vitest'
import { manualClock, TidingsError } from '@tidings/core'
import { IdentityUnavailable, TokenExpired, TokenRevoked } from './auth-errors'
import { liveMemberVerifier, type MemberTokenState } from './live-member-verifier'
import { testIssuer } from './test-kit'
import { tokenVerifier } from './token-verifier'

const ANN = '0190a8f2-0000-7000-8000-0000000000a1'
const GHOST = '0190a8f2-0000-7000-8000-0000000000ff'
const now = new Date('2030-01-01T00:00:00Z')
const issuer = await testIssuer()

/** The identity service's members as a verifier elsewhere sees them: a table of token versions, counting lookups. */
function members(initial: Record<string, number>) {
  const versions = new Map(Object.entries(initial))
  let lookups = 0
  return {
    set: (memberId: string, tokenVersion: number) => versions.set(memberId, tokenVersion),
    remove: (memberId: string) => versions.delete(memberId),
    lookups: () => lookups,
    lookup: async (memberId: string): Promise<MemberTokenState | undefined> => {
      lookups++
      const tokenVersion = versions.get(memberId)
      return tokenVersion === undefined ? undefined : { tokenVersion }
    },
  }
}

async function refusal(promise: Promise<unknown>): Promise<TidingsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TidingsError)
  return error as TidingsError
}

describe('liveMemberVerifier', () => {
  it("admits a genuine token of a member whose token version it carries, with the token's claims", async () => {
    const table = members({ [ANN]: 0 })
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock: manualClock(now) }), table.lookup)
    expect(await verify(await issuer.sign(ANN, { now }))).toMatchObject({ sub: ANN, tv: 0 })
  })

  it('refuses a genuine token of a member that does not exist, or no longer does, as TOKEN_REVOKED (401)', async () => {
    const table = members({ [ANN]: 0 })
    const clock = manualClock(now)
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock }), table.lookup, { clock, ttlMs: 0 })
    const error = await refusal(verify(await issuer.sign(GHOST, { now })))
    expect(error).toBeInstanceOf(TokenRevoked)
    expect(error.kind).toBe('unauthorized')
    const token = await issuer.sign(ANN, { now })
    expect((await verify(token)).sub).toBe(ANN)
    table.remove(ANN)
    expect(await refusal(verify(token))).toBeInstanceOf(TokenRevoked)
  })

  it('refuses tokens issued under an earlier token version (signed out, password changed), and admits the new ones', async () => {
    const table = members({ [ANN]: 0 })
    const clock = manualClock(now)
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock }), table.lookup, { clock, ttlMs: 0 })
    const before = await issuer.sign(ANN, { now })
    expect((await verify(before)).sub).toBe(ANN)
    table.set(ANN, 1)
    expect(await refusal(verify(before))).toBeInstanceOf(TokenRevoked)
    expect((await verify(await issuer.sign(ANN, { now, tokenVersion: 1 }))).tv).toBe(1)
    // A version the member never reached (a restored database) is not trusted either.
    expect(await refusal(verify(await issuer.sign(ANN, { now, tokenVersion: 2 })))).toBeInstanceOf(TokenRevoked)
  })

  it('remembers a member for the TTL, so a revocation elsewhere takes effect within it', async () => {
    const table = members({ [ANN]: 0 })
    const clock = manualClock(now)
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock }), table.lookup, { clock, ttlMs: 5_000 })
    const token = await issuer.sign(ANN, { now })
    await verify(token)
    await verify(token)
    expect(table.lookups()).toBe(1)
    table.set(ANN, 1)
    clock.advance(4_999)
    expect((await verify(token)).sub).toBe(ANN)
    clock.advance(1)
    expect(await refusal(verify(token))).toBeInstanceOf(TokenRevoked)
    expect(table.lookups()).toBe(2)
  })

  it('takes a revocation in its own process at once when told to forget the member', async () => {
    const table = members({ [ANN]: 0 })
    const clock = manualClock(now)
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock }), table.lookup, { clock, ttlMs: 60_000 })
    const token = await issuer.sign(ANN, { now })
    await verify(token)
    table.set(ANN, 1)
    verify.forget(ANN)
    expect(await refusal(verify(token))).toBeInstanceOf(TokenRevoked)
  })

  it('does not remember a lookup that was in flight when the member was forgotten', async () => {
    const table = members({ [ANN]: 0 })
    const clock = manualClock(now)
    let read!: () => void
    let release!: () => void
    const hasRead = new Promise<void>((resolve) => (read = resolve))
    const gate = new Promise<void>((resolve) => (release = resolve))
    const verify = liveMemberVerifier(
      tokenVerifier(issuer.keys, { clock }),
      async (memberId) => {
        const state = await table.lookup(memberId)
        read()
        await gate
        return state
      },
      { clock, ttlMs: 60_000 },
    )
    const token = await issuer.sign(ANN, { now })
    const early = verify(token)
    // The lookup has read version 0; the member signs out before it answers.
    await hasRead
    table.set(ANN, 1)
    verify.forget(ANN)
    release()
    expect((await early).sub).toBe(ANN)
    expect(await refusal(verify(token))).toBeInstanceOf(TokenRevoked)
  })

  it('asks once for a member asked for by many requests at the same time', async () => {
    const table = members({ [ANN]: 0 })
    const clock = manualClock(now)
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock }), table.lookup, { clock })
    const token = await issuer.sign(ANN, { now })
    await Promise.all(Array.from({ length: 20 }, () => verify(token)))
    expect(table.lookups()).toBe(1)
  })

  it('remembers at most maxMembers, the longest remembered going first', async () => {
    const others = Array.from({ length: 3 }, (_, i) => `0190a8f2-0000-7000-8000-00000000000${i}`)
    const table = members(Object.fromEntries(others.map((id) => [id, 0])))
    const clock = manualClock(now)
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock }), table.lookup, { clock, maxMembers: 2 })
    const tokens = await Promise.all(others.map((id) => issuer.sign(id, { now })))
    for (const token of tokens) await verify(token)
    expect(table.lookups()).toBe(3)
    await verify(tokens[2]!)
    await verify(tokens[1]!)
    expect(table.lookups()).toBe(3)
    await verify(tokens[0]!)
    expect(table.lookups()).toBe(4)
  })

  it('answers IDENTITY_UNAVAILABLE (503), not 401, when the member cannot be looked up, and remembers no failure', async () => {
    const clock = manualClock(now)
    let down = true
    const verify = liveMemberVerifier(
      tokenVerifier(issuer.keys, { clock }),
      async () => {
        if (down) throw new Error('connect ECONNREFUSED')
        return { tokenVersion: 0 }
      },
      { clock },
    )
    const token = await issuer.sign(ANN, { now })
    const error = await refusal(verify(token))
    expect(error).toBeInstanceOf(IdentityUnavailable)
    expect(error.kind).toBe('unavailable')
    down = false
    expect((await verify(token)).sub).toBe(ANN)
  })

  it("passes the signature check's refusals through before any lookup", async () => {
    const table = members({ [ANN]: 0 })
    const verify = liveMemberVerifier(tokenVerifier(issuer.keys, { clock: manualClock(new Date('2031-01-01T00:00:00Z')) }), table.lookup)
    expect(await refusal(verify(await issuer.sign(ANN, { now })))).toBeInstanceOf(TokenExpired)
    expect(table.lookups()).toBe(0)
  })
})
