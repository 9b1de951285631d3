import { describe, expect, it } from 'vitest'
import { manualClock } from '@tidings/core'
import { signMemberToken, tokenVerifier } from '@tidings/auth'
import { migrate } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import type { RotationPolicy } from './rotation'
import { signingKeyMigrations } from './signing-key.repository'
import { SigningKeys } from './signing-keys'

const ANN = '0190a8f2-0000-7000-8000-0000000000a1'
const HOUR = 3_600_000
const policy: RotationPolicy = { rotateEveryMs: 24 * HOUR, publishAheadMs: 600_000, tokenTtlMs: HOUR }

for (const engine of await testEngines()) {
  describe(`signing keys on ${engine.name}`, () => {
    async function ring() {
      const db = await engine.db()
      const schema = await engine.freshSchema('keys')
      await migrate(db, schema, 'identity.keys', signingKeyMigrations)
      const clock = manualClock('2026-12-01T00:00:00Z')
      const open = async () => {
        const keys = new SigningKeys(db, schema, clock, policy)
        await keys.reload()
        return keys
      }
      return { clock, open }
    }
    const kids = async (keys: SigningKeys) => (await keys.jwks()).keys.map((k) => k.kid)
    const sign = async (keys: SigningKeys, now: Date) => (await signMemberToken(await keys.signer(), { memberId: ANN, roles: [], tokenId: 't', now, ttlSeconds: 3600 })).token

    it('makes one key on first start, shared by every instance, and publishes only its public half', async () => {
      const { open } = await ring()
      const [a, b] = await Promise.all([open(), open()])
      expect(await kids(a)).toHaveLength(1)
      expect(await kids(b)).toEqual(await kids(a))
      const [jwk] = (await a.jwks()).keys
      expect(Object.keys(jwk!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x'])
      expect((await a.signer()).kid).toBe((await b.signer()).kid)
    })

    it('rotates: the next key is published ahead, signs from its time, and the old one goes once its tokens have expired', async () => {
      const { clock, open } = await ring()
      const keys = await open()
      const [first] = await kids(keys)

      clock.advance(24 * HOUR - 600_000)
      await keys.reload()
      const [, second] = await kids(keys)
      expect(second).toBeDefined()
      expect((await keys.signer()).kid).toBe(first)
      const lastOfTheOld = await sign(keys, clock.now())

      clock.advance(600_000)
      const fresh = await open()
      expect((await fresh.signer()).kid).toBe(second)
      // Another instance's verifier knows the new key, and still the old one while its tokens may live.
      const verify = tokenVerifier(fresh.keySource, { clock })
      expect((await verify(await sign(fresh, clock.now()))).sub).toBe(ANN)
      expect((await verify(lastOfTheOld)).sub).toBe(ANN)

      clock.advance(HOUR + 60_000)
      await fresh.reload()
      expect(await kids(fresh)).toEqual([second])
    })

    it("verifies in process with the ring's public keys, finding a key another instance made since", async () => {
      const { clock, open } = await ring()
      const here = await open()
      const verify = tokenVerifier(here.keySource, { clock })
      clock.advance(24 * HOUR)
      const elsewhere = await open()
      clock.advance(600_000)
      const token = await sign(elsewhere, clock.now())
      expect((await elsewhere.signer()).kid).not.toBe((await kids(here))[0])
      expect((await verify(token)).sub).toBe(ANN)
    })
  })
}
