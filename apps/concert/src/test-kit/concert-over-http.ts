import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { tokenVerifier } from '@tidings/auth'
import { testIssuer, type TestIssuer } from '@tidings/auth/test-kit'
import { serveHttp, servingOf } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { TEST_CONSISTENCY_TIMEOUT_MS, type TestEngine } from '@tidings/testing'
import { composeConcert, type Concert, type ConcertOptions } from '../concerts'

export interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

export interface Member {
  id: string
  token: string
}

/** The deployment's operator secret in these tests: it schedules concerts. */
export const OPERATOR_SECRET = 'concert-kit-operator-secret'

export interface ConcertOverHttp {
  concert: Concert
  db: Database
  /** Where it is served, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string
  /** The test issuer whose tokens it trusts (with `crowd`). */
  issuer: TestIssuer | undefined
  call(method: string, path: string, token: string | undefined, body?: unknown, headers?: Record<string, string>): Promise<Answer>
  /** A member signed up and logged in, given `roles` first by the operator secret. */
  member(name: string, roles?: string[]): Promise<Member>
  /** `count` members at once, their tokens signed by a test issuer the concert services trust (with `crowd: true`). */
  crowd(count: number): Promise<Member[]>
  /**
   * Joins the concert's waiting room for `members` (each must be admitted at once: ACTIVE); from then on
   * `call` sends each one's queue token with their requests.
   */
  admit(concertId: string, ...members: Member[]): Promise<string[]>
  /** The queue token `call` sends for the member (the last they were admitted with). */
  queueToken(member: Member): string | undefined
  /** A concert of one performance starting in a week, scheduled by the operator. */
  performance(seatCount: number, price: number): Promise<{ concertId: string; performanceId: string }>
  close(): Promise<void>
}

/** The concert system and its identity on a fresh database of `engine`, served on a port of its own. */
export async function concertOverHttp(
  engine: TestEngine,
  options: Partial<ConcertOptions> & {
    /** Trust a test issuer's tokens (`crowd`); given one, another instance's, so that both trust the same members. */
    crowd?: boolean | TestIssuer
  } = {},
): Promise<ConcertOverHttp> {
  const { crowd: trustsIssuer, ...concertOptions } = options
  const db = options.db ?? (await engine.freshDatabase()).db
  const issuer = trustsIssuer === true ? await testIssuer() : trustsIssuer || undefined
  const concert = await composeConcert({
    db,
    consistencyTimeoutMs: TEST_CONSISTENCY_TIMEOUT_MS,
    operatorToken: OPERATOR_SECRET,
    ...(issuer ? { verify: tokenVerifier(issuer.keys) } : {}),
    ...concertOptions,
  })
  await concert.start()
  const server = await serveHttp(concert.http, 0, { hostname: '127.0.0.1', ...servingOf(concert) })
  const base = `http://127.0.0.1:${server.port}`

  /** Each admitted member's queue token, by their bearer token. */
  const queueTokens = new Map<string, string>()
  const call: ConcertOverHttp['call'] = async (method, path, token, body, headers = {}) => {
    const queueToken = token && queueTokens.get(token)
    const sent = new Headers()
    if (body !== undefined) sent.set('content-type', 'application/json')
    if (token) sent.set('authorization', `Bearer ${token}`)
    if (queueToken) sent.set('queue-token', queueToken)
    for (const [name, value] of Object.entries(headers)) sent.set(name, value) // the test's own win, whatever their case
    const response = await fetch(`${base}${path}`, {
      method,
      headers: sent,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    })
    const text = await response.text()
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
  }

  let members = 0
  const member = async (name: string, roles: string[] = []): Promise<Member> => {
    const email = `${name}-${++members}-${engine.name}-${process.pid}@example.com`
    const joined = await call('POST', '/api/members', undefined, { email, password: 'correct horse', nickname: `${name}${members}x${process.pid}` })
    expect(joined.status).toBe(201)
    if (roles.length > 0) expect((await call('PUT', `/api/members/${joined.body.memberId as string}/roles`, OPERATOR_SECRET, { roles })).status).toBe(200)
    const login = await call('POST', '/api/auth/login', undefined, { email, password: 'correct horse' })
    expect(login.status).toBe(200)
    return { id: joined.body.memberId as string, token: login.body.token as string }
  }

  const crowd = async (count: number): Promise<Member[]> => {
    if (!issuer) throw new Error('concertOverHttp: a crowd needs { crowd: true }')
    return Promise.all(Array.from({ length: count }, async () => {
      const id = randomUUID()
      return { id, token: await issuer.sign(id) }
    }))
  }

  const admit = async (concertId: string, ...members: Member[]) => {
    const tokens: string[] = []
    for (const member of members) {
      const joined = await call('POST', `/api/concerts/${concertId}/queue`, member.token)
      expect([joined.status, joined.body.status]).toEqual([201, 'ACTIVE'])
      queueTokens.set(member.token, joined.body.token as string)
      tokens.push(joined.body.token as string)
    }
    return tokens
  }

  const performance = async (seatCount: number, price: number) => {
    const startsAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString()
    const scheduled = await call('POST', '/api/concerts', OPERATOR_SECRET, { title: 'Test night', performances: [{ startsAt, seatCount, price }] })
    expect(scheduled.status).toBe(201)
    const [first] = scheduled.body.performances as Array<{ performanceId: string }>
    return { concertId: scheduled.body.concertId as string, performanceId: first!.performanceId }
  }

  return {
    concert,
    db,
    baseUrl: base,
    issuer,
    call,
    member,
    crowd,
    admit,
    queueToken: (member) => queueTokens.get(member.token),
    performance,
    async close() {
      await concert.stop()
      await server.close()
    },
  }
}
