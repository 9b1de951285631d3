import { TidingsError } from '@tidings/core'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { InvalidToken } from './auth-errors'
import { holdsRole, requireMember, requireRole, type MemberEnv, type RequireMemberOptions } from './require-member'
import { testIssuer } from './test-kit'
import { tokenVerifier } from './token-verifier'

const MEMBER_1 = '0190a8f2-0000-7000-8000-000000000001'
const MEMBER_2 = '0190a8f2-0000-7000-8000-000000000002'
const now = new Date('2030-01-01T00:00:00Z')
const issuer = await testIssuer()
const valid = await issuer.sign(MEMBER_1, { now, ttlSeconds: 60 })

/** A tiny app whose error handler does what the real one does with these errors: 401 with the code. */
function appWith(options?: RequireMemberOptions) {
  const app = new Hono<MemberEnv>()
  app.onError((error, c) => {
    if (error instanceof TidingsError && error.kind === 'unauthorized') return c.json({ code: error.code, detail: error.message }, 401)
    if (error instanceof TidingsError && error.kind === 'forbidden') return c.json({ code: error.code, detail: error.message }, 403)
    return c.json({ code: 'INTERNAL' }, 500)
  })
  const verify = tokenVerifier(issuer.keys, { clock: { now: () => now } })
  app.use('/me', requireMember(verify, options))
  app.get('/me', (c) => c.json({ memberId: c.get('memberId') }))
  app.use('/token', requireMember(verify))
  app.get('/token', async (c) => c.json({ expiresAt: c.get('token').expiresAt.toISOString(), again: (await c.get('token').verifyAgain()).sub }))
  app.get('/shipments', requireRole(verify, 'staff'), (c) => c.json({ memberId: c.get('memberId'), roles: c.get('roles') }))
  app.get('/things', requireRole(verify, 'staff', 'operator'), (c) => c.json({ operator: holdsRole(c, 'operator') }))
  return app
}

async function call(app: Hono<MemberEnv>, path: string, authorization?: string) {
  const res = await app.request(path, authorization === undefined ? {} : { headers: { Authorization: authorization } })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('requireMember', () => {
  it('lets a request with a valid bearer token through, with memberId set', async () => {
    expect(await call(appWith(), '/me', `Bearer ${valid}`)).toEqual({ status: 200, body: { memberId: MEMBER_1 } })
  })

  it("hands the route the token's expiry and a way to check it again (for routes that outlive the request's start)", async () => {
    expect(await call(appWith(), '/token', `Bearer ${valid}`)).toEqual({ status: 200, body: { expiresAt: '2030-01-01T00:01:00.000Z', again: MEMBER_1 } })
  })

  it('reads the scheme case-insensitively', async () => {
    expect((await call(appWith(), '/me', `bearer ${valid}`)).status).toBe(200)
    expect((await call(appWith(), '/me', `BEARER ${valid}`)).status).toBe(200)
  })

  it('answers 401 UNAUTHORIZED without an Authorization header', async () => {
    expect(await call(appWith(), '/me')).toEqual({ status: 401, body: { code: 'UNAUTHORIZED', detail: 'A bearer token is required' } })
  })

  it.each([['Basic x'], ['Basic dXNlcjpwYXNz'], ['Bearer'], ['Bearer '], [''], [valid]])(
    'answers 401 UNAUTHORIZED to an Authorization header with no bearer token: %j',
    async (header) => {
      expect(await call(appWith(), '/me', header)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    },
  )

  it('answers 401 INVALID_TOKEN to more than one token after the scheme', async () => {
    expect(await call(appWith(), '/me', `Bearer ${valid} ${valid}`)).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN' } })
  })

  it("passes the verifier's errors through", async () => {
    expect(await call(appWith(), '/me', 'Bearer not.a.token')).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN' } })
    const expired = await issuer.sign(MEMBER_1, { now: new Date('2029-01-01T00:00:00Z'), ttlSeconds: 60 })
    expect(await call(appWith(), '/me', `Bearer ${expired}`)).toMatchObject({ status: 401, body: { code: 'TOKEN_EXPIRED' } })
  })

  it('never reaches the route when the verifier refuses', async () => {
    let reached = false
    const app = new Hono<MemberEnv>()
    app.onError((_, c) => c.json({}, 401))
    app.use(
      '*',
      requireMember(() => {
        throw new InvalidToken()
      }),
    )
    app.get('/x', (c) => {
      reached = true
      return c.json({})
    })
    expect((await app.request('/x', { headers: { Authorization: 'Bearer t' } })).status).toBe(401)
    expect(reached).toBe(false)
  })

  describe('with a query token', () => {
    const path = `/me?access_token=${encodeURIComponent(valid)}`

    it('ignores ?access_token= unless allowed', async () => {
      expect(await call(appWith(), path)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
      expect(await call(appWith({ allowQueryToken: false }), path)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    })

    it('accepts ?access_token= when allowed', async () => {
      expect(await call(appWith({ allowQueryToken: true }), path)).toEqual({ status: 200, body: { memberId: MEMBER_1 } })
    })

    it('still verifies a query token', async () => {
      expect(await call(appWith({ allowQueryToken: true }), '/me?access_token=forged')).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN' } })
    })

    it('treats an empty ?access_token= as none', async () => {
      expect(await call(appWith({ allowQueryToken: true }), '/me?access_token=')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    })

    it('refuses ?access_token= given twice', async () => {
      expect(await call(appWith({ allowQueryToken: true }), `${path}&access_token=${encodeURIComponent(valid)}`)).toMatchObject({
        status: 401,
        body: { code: 'INVALID_TOKEN' },
      })
    })

    it('prefers the Authorization header when both are given', async () => {
      const other = await issuer.sign(MEMBER_2, { now, ttlSeconds: 60 })
      expect(await call(appWith({ allowQueryToken: true }), path, `Bearer ${other}`)).toEqual({ status: 200, body: { memberId: MEMBER_2 } })
    })
  })
})

describe('requireRole', () => {
  const as = async (roles: Array<'staff' | 'operator'>) => `Bearer ${await issuer.sign(MEMBER_1, { now, ttlSeconds: 60, roles })}`

  it('admits a member holding the role, with their id and roles set', async () => {
    expect(await call(appWith(), '/shipments', await as(['staff']))).toEqual({ status: 200, body: { memberId: MEMBER_1, roles: ['staff'] } })
  })

  it('answers 403 ROLE_REQUIRED to a genuine member without it, and no role implies another', async () => {
    expect(await call(appWith(), '/shipments', `Bearer ${valid}`)).toEqual({ status: 403, body: { code: 'ROLE_REQUIRED', detail: 'This needs the staff role' } })
    expect(await call(appWith(), '/shipments', await as(['operator']))).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
  })

  it('admits any one of several roles', async () => {
    expect(await call(appWith(), '/things', await as(['operator']))).toEqual({ status: 200, body: { operator: true } })
    expect(await call(appWith(), '/things', await as(['staff']))).toEqual({ status: 200, body: { operator: false } })
  })

  it('answers 401 before any role check without a valid token', async () => {
    expect(await call(appWith(), '/shipments')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    expect(await call(appWith(), '/shipments', 'Bearer forged')).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN' } })
  })
})
