import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testEngines } from '@tidings/testing'
import { call, serveIdentity, type Answer, type ServedIdentity } from '../test-kit/serve-identity'
import type { AbuseLimits } from './abuse-limits'

/**
 * Sign-in and sign-up limits over HTTP. Each test's clients leave from loopback addresses of their own
 * (127.0.0.x), so the server sees them as different clients, and the tests do not share counts.
 */
const HOUR = 3_600_000
const LIMITS: AbuseLimits = {
  loginFailuresPerAccountAddress: { limit: 3, windowMs: HOUR },
  loginFailuresPerAccount: { limit: 8, windowMs: HOUR },
  loginAttemptsPerAddress: { limit: 20, windowMs: HOUR },
  signUpsPerAddress: { limit: 2, windowMs: HOUR },
  signUpsPerAccount: { limit: 2, windowMs: HOUR },
}
const PASSWORD = 'correct horse'

/** 429 TOO_MANY_ATTEMPTS as a problem, with Retry-After in seconds (within what the limits could ask for). */
function expectTooMany(answer: Answer, label = ''): void {
  expect(answer.status, label).toBe(429)
  expect(answer.headers['content-type']).toBe('application/problem+json')
  expect(answer.body).toEqual({
    type: 'urn:tidings:problem:too-many-attempts',
    title: 'Too Many Requests',
    status: 429,
    code: 'TOO_MANY_ATTEMPTS',
    detail: expect.stringMatching(/^Too many attempts; try again in \d+ s$/),
    retryAfter: expect.any(Number),
  })
  const retryAfter = Number(answer.headers['retry-after'])
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= HOUR / 1000, `Retry-After ${answer.headers['retry-after']}`).toBe(true)
  expect(answer.body.retryAfter).toBe(retryAfter)
}

for (const engine of await testEngines()) {
  describe(`sign-in and sign-up limits on ${engine.name}`, () => {
    let served: ServedIdentity
    let members = 0
    const signUp = (from: string, name = `m${++members}`) =>
      call(served.baseUrl, 'POST', '/api/members', { from, body: { email: `${name}@example.com`, password: PASSWORD, nickname: name } })
    /** A member signed up from an address no test logs in from. */
    const newMember = async (): Promise<string> => {
      const name = `m${++members}`
      expect((await signUp(`127.0.1.${members}`, name)).status).toBe(201)
      return `${name}@example.com`
    }
    const login = (from: string, email: string, password: string) => call(served.baseUrl, 'POST', '/api/auth/login', { from, body: { email, password } })

    beforeAll(async () => {
      served = await serveIdentity((await engine.freshDatabase()).db, { limits: LIMITS })
    })
    afterAll(() => served?.stop())

    it('answers wrong passwords past the limit with 429 and Retry-After, and then refuses the right one too', async () => {
      const email = await newMember()
      const statuses: number[] = []
      for (let i = 0; i < 40; i++) {
        const answer = await login('127.0.0.3', email, `wrong guess ${i}`)
        statuses.push(answer.status)
        if (answer.status === 429) expectTooMany(answer, `guess ${i}`)
      }
      expect(statuses).toEqual([401, 401, 401, ...Array(37).fill(429)])
      expectTooMany(await login('127.0.0.3', email, PASSWORD), 'the right password')
    })

    it('holds guesses sent at once as it holds guesses in a row', async () => {
      const email = await newMember()
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => login('127.0.0.4', email, `parallel guess ${i}`)))
      const statuses = answers.map((a) => a.status).sort()
      expect(statuses).toEqual([...Array(3).fill(401), ...Array(17).fill(429)])
      expectTooMany(await login('127.0.0.4', email, PASSWORD))
    })

    it('does not lock a member out where they sign in because someone guesses from elsewhere; a right password clears their own failures', async () => {
      const email = await newMember()
      for (let i = 0; i < 3; i++) expect((await login('127.0.0.5', email, `guess ${i}`)).status).toBe(401)
      expectTooMany(await login('127.0.0.5', email, PASSWORD))
      expect((await login('127.0.0.6', email, PASSWORD)).status).toBe(200)
      for (let i = 0; i < 2; i++) expect((await login('127.0.0.6', email, `typo ${i}`)).status).toBe(401)
      expect((await login('127.0.0.6', email, PASSWORD)).status).toBe(200)
      // The success cleared the two typos: three more wrong ones are still answered as wrong.
      for (let i = 0; i < 3; i++) expect((await login('127.0.0.6', email, `typo ${i}`)).status).toBe(401)
      expectTooMany(await login('127.0.0.6', email, PASSWORD))
    })

    it('holds a guesser with many addresses by the slower per-account limit, for every address', async () => {
      const email = await newMember()
      for (const from of ['127.0.0.7', '127.0.0.8', '127.0.0.9', '127.0.0.10']) for (let i = 0; i < 2; i++) expect((await login(from, email, `guess ${i}`)).status).toBe(401)
      expectTooMany(await login('127.0.0.11', email, 'one more guess'))
      expectTooMany(await login('127.0.0.17', email, PASSWORD))
    })

    it('holds one address trying many accounts, right or wrong, and no other address', async () => {
      for (let i = 0; i < 20; i++) expect((await login('127.0.0.12', `nobody${i}@example.com`, 'whatever1')).status).toBe(401)
      expectTooMany(await login('127.0.0.12', 'nobody-else@example.com', 'whatever1'))
      const email = await newMember()
      expectTooMany(await login('127.0.0.12', email, PASSWORD))
      expect((await login('127.0.0.13', email, PASSWORD)).status).toBe(200)
    })

    it('limits sign-ups per address, taken emails included, and answers another address', async () => {
      expect((await signUp('127.0.0.14')).status).toBe(201)
      const taken = await call(served.baseUrl, 'POST', '/api/members', { from: '127.0.0.14', body: { email: 'm1@example.com', password: PASSWORD, nickname: 'fresh14' } })
      expect(taken).toMatchObject({ status: 409, body: { code: 'EMAIL_TAKEN' } })
      expectTooMany(await signUp('127.0.0.14'))
      expect((await signUp('127.0.0.15')).status).toBe(201)
    })

    it('limits sign-ups per account from any address, its email in any case, taken or not, and answers another account', async () => {
      const name = `dora${++members}`
      const signUpAs = (from: string, email: string, nickname: string) => call(served.baseUrl, 'POST', '/api/members', { from, body: { email, password: PASSWORD, nickname } })
      expect((await signUpAs('127.0.2.1', `${name}@example.com`, name)).status).toBe(201)
      expect(await signUpAs('127.0.2.2', `${name}@example.com`, `${name}b`)).toMatchObject({ status: 409, body: { code: 'EMAIL_TAKEN' } })
      // The same account as sign-up stores it (lower case): held, from a third address that has signed nobody up.
      expectTooMany(await signUpAs('127.0.2.3', `${name.toUpperCase()}@EXAMPLE.COM`, `${name}c`))
      expect((await signUp('127.0.2.3')).status).toBe(201)
    })

    it('does not count a sign-up the form refuses (refused before any work)', async () => {
      for (let i = 0; i < 5; i++) expect((await call(served.baseUrl, 'POST', '/api/members', { from: '127.0.0.16', body: { email: 'not-an-email', password: PASSWORD, nickname: 'abc' } })).status).toBe(400)
      expect((await signUp('127.0.0.16')).status).toBe(201)
    })
  })

  describe(`limits behind a trusted proxy on ${engine.name}`, () => {
    let served: ServedIdentity
    beforeAll(async () => {
      served = await serveIdentity((await engine.freshDatabase()).db, { limits: { signUpsPerAddress: { limit: 1, windowMs: HOUR }, trustedProxies: 1 } })
    })
    afterAll(() => served?.stop())
    const signUp = (name: string, forwardedFor: string) =>
      call(served.baseUrl, 'POST', '/api/members', { body: { email: `${name}@example.com`, password: PASSWORD, nickname: name }, headers: { 'X-Forwarded-For': forwardedFor } })

    it('counts the address the proxy appended to X-Forwarded-For, whatever the client wrote before it', async () => {
      expect((await signUp('p1', '203.0.113.1')).status).toBe(201)
      expectTooMany(await signUp('p2', '198.51.100.9, 203.0.113.1'))
      expect((await signUp('p3', '203.0.113.1, 203.0.113.2')).status).toBe(201)
    })
  })
}
