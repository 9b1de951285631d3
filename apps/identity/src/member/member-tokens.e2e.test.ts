import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TidingsError } from '@tidings/core'
import { serviceContext } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import { remoteIdentity } from '../identity.processes'
import { hashPassword, needsRehash, verifyPassword } from './password'
import { call, serveIdentity, TEST_SERVICE_CREDENTIAL, type ServedIdentity } from '../test-kit/serve-identity'

/** Signing out and changing the password refuse the member's earlier tokens, here and in other processes. */
const PASSWORD = 'correct horse'

async function refusalOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => (error instanceof TidingsError ? error.code : String(error)),
  )
}

for (const engine of await testEngines()) {
  describe(`the member's tokens on ${engine.name}`, () => {
    let db: Database
    let served: ServedIdentity
    let members = 0
    const api = (method: string, path: string, options: { body?: unknown; token?: string } = {}) => call(served.baseUrl, method, path, options)
    /** A member signed up and logged in `devices` times (a token each). */
    const newMember = async (devices = 1) => {
      const name = `t${++members}`
      const email = `${name}@example.com`
      const joined = await api('POST', '/api/members', { body: { email, password: PASSWORD, nickname: name } })
      expect(joined.status).toBe(201)
      const tokens: string[] = []
      for (let i = 0; i < devices; i++) tokens.push((await api('POST', '/api/auth/login', { body: { email, password: PASSWORD } })).body.token as string)
      return { memberId: joined.body.memberId as string, email, tokens }
    }
    /** Another process's view of the identity service: tokens checked over HTTP, nothing remembered. */
    const elsewhere = () => remoteIdentity(serviceContext({ db, serviceCredential: TEST_SERVICE_CREDENTIAL }), { IDENTITY_URL: served.baseUrl, TIDINGS_MEMBER_CHECK_TTL_MS: '0' }).verify

    beforeAll(async () => {
      db = (await engine.freshDatabase()).db
      served = await serveIdentity(db)
    })
    afterAll(() => served?.stop())

    it('signing out refuses every token the member had, on every device, here and elsewhere; a new log-in works', async () => {
      const ann = await newMember(2)
      const verify = elsewhere()
      for (const token of ann.tokens) {
        expect(await api('GET', '/api/members/me', { token })).toMatchObject({ status: 200, body: { memberId: ann.memberId } })
        expect((await verify(token)).sub).toBe(ann.memberId)
      }
      expect(await api('POST', '/api/auth/logout', { token: ann.tokens[0] })).toMatchObject({ status: 204 })
      for (const token of ann.tokens) {
        expect(await api('GET', '/api/members/me', { token })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
        expect(await api('POST', '/api/auth/logout', { token })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
        expect(await refusalOf(verify(token))).toBe('TOKEN_REVOKED')
      }
      const again = await api('POST', '/api/auth/login', { body: { email: ann.email, password: PASSWORD } })
      expect(await api('GET', '/api/members/me', { token: again.body.token })).toMatchObject({ status: 200 })
      expect((await verify(again.body.token)).sub).toBe(ann.memberId)
    })

    it('changing the password needs the current one, refuses the earlier tokens and answers a new one', async () => {
      const bob = await newMember(2)
      const change = (token: string, currentPassword: string, newPassword: string) => api('PUT', '/api/members/me/password', { token, body: { currentPassword, newPassword } })
      expect(await change(bob.tokens[0]!, 'not my password', 'a new password')).toMatchObject({ status: 403, body: { code: 'WRONG_PASSWORD' } })
      expect(await change(bob.tokens[0]!, PASSWORD, 'short')).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      // Neither changed anything: the tokens still work.
      expect(await api('GET', '/api/members/me', { token: bob.tokens[1] })).toMatchObject({ status: 200 })

      const changed = await change(bob.tokens[0]!, PASSWORD, 'a new password')
      expect(changed).toMatchObject({ status: 200, body: { token: expect.any(String), expiresAt: expect.any(String) } })
      for (const token of bob.tokens) expect(await api('GET', '/api/members/me', { token })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
      expect(await refusalOf(elsewhere()(bob.tokens[1]!))).toBe('TOKEN_REVOKED')
      expect(await api('GET', '/api/members/me', { token: changed.body.token })).toMatchObject({ status: 200, body: { memberId: bob.memberId } })
      expect(await api('POST', '/api/auth/login', { body: { email: bob.email, password: PASSWORD } })).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } })
      expect(await api('POST', '/api/auth/login', { body: { email: bob.email, password: 'a new password' } })).toMatchObject({ status: 200 })
    })

    it('a log-in replaces a password hash made at an older, cheaper cost, and revokes nothing', async () => {
      const bob = await newMember()
      const cheap = await hashPassword(PASSWORD, { N: 2 ** 12, r: 8, p: 1 })
      await db.query(`UPDATE identity_member.members SET password_hash = $2 WHERE id = $1`, [bob.memberId, cheap])
      const storedHash = async () => (await db.query<{ password_hash: string }>(`SELECT password_hash FROM identity_member.members WHERE id = $1`, [bob.memberId])).rows[0]!.password_hash
      expect(needsRehash(await storedHash())).toBe(true)
      expect((await api('POST', '/api/auth/login', { body: { email: bob.email, password: PASSWORD } })).status).toBe(200)
      const rehashed = await storedHash()
      expect(needsRehash(rehashed)).toBe(false)
      expect(await verifyPassword(PASSWORD, rehashed)).toBe(true)
      expect(await api('GET', '/api/members/me', { token: bob.tokens[0]! })).toMatchObject({ status: 200 })
    })

    it('refuses a genuine token of a member that does not exist, here and elsewhere', async () => {
      const ghost = (await served.identity.issue(randomUUID())).token
      expect(await api('GET', '/api/members/me', { token: ghost })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
      expect(await api('PUT', '/api/members/me/password', { token: ghost, body: { currentPassword: PASSWORD, newPassword: 'whatever1' } })).toMatchObject({ status: 401 })
      expect(await refusalOf(elsewhere()(ghost))).toBe('TOKEN_REVOKED')
    })

    it("answers a member's token version only to the deployment's services", async () => {
      const carl = await newMember()
      const path = `/internal/members/${carl.memberId}/tokens`
      expect(await api('GET', path)).toMatchObject({ status: 401, body: { code: 'SERVICE_CREDENTIAL_REQUIRED' } })
      expect(await api('GET', path, { token: carl.tokens[0] })).toMatchObject({ status: 401, body: { code: 'SERVICE_CREDENTIAL_REQUIRED' } })
      expect(await api('GET', path, { token: TEST_SERVICE_CREDENTIAL })).toEqual(expect.objectContaining({ status: 200, body: { memberId: carl.memberId, tokenVersion: 0 } }))
      expect(await api('GET', `/internal/members/${randomUUID()}/tokens`, { token: TEST_SERVICE_CREDENTIAL })).toMatchObject({ status: 404, body: { code: 'MEMBER_NOT_FOUND' } })
    })
  })
}
