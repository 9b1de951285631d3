import { expect } from 'vitest'
import { serveHttp } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { TEST_CONSISTENCY_TIMEOUT_MS, type TestEngine } from '@tidings/testing'
import { composeOrders, type Orders, type OrdersOptions } from '../orders'

export interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

export interface Member {
  id: string
  token: string
}

/** The deployment's operator secret in these tests: it grants the test's staff and operators their roles. */
export const OPERATOR_SECRET = 'orders-kit-operator-secret'

export interface OrdersOverHttp {
  orders: Orders
  db: Database
  call(method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer>
  /** A member signed up and logged in, given `roles` first by the operator secret. */
  member(name: string, roles?: string[]): Promise<Member>
  close(): Promise<void>
}

/** Orders and its identity on a fresh database of `engine`, served on a port of its own. */
export async function ordersOverHttp(engine: TestEngine, options: Partial<OrdersOptions> = {}): Promise<OrdersOverHttp> {
  const db = (await engine.freshDatabase()).db
  const orders = await composeOrders({ db, consistencyTimeoutMs: TEST_CONSISTENCY_TIMEOUT_MS, identity: { operatorToken: OPERATOR_SECRET }, ...options })
  await orders.start()
  const server = await serveHttp(orders.http, 0, { hostname: '127.0.0.1' })
  const base = `http://127.0.0.1:${server.port}`

  const call = async (method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await response.text()
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
  }

  const member = async (name: string, roles: string[] = []): Promise<Member> => {
    const email = `${name}-${engine.name}-${process.pid}@example.com`
    const joined = await call('POST', '/api/members', undefined, { email, password: 'correct horse', nickname: `${name}${process.pid}` })
    expect(joined.status).toBe(201)
    const id = joined.body.memberId as string
    if (roles.length > 0) expect((await call('PUT', `/api/members/${id}/roles`, OPERATOR_SECRET, { roles })).status).toBe(200)
    const login = await call('POST', '/api/auth/login', undefined, { email, password: 'correct horse' })
    expect(login.status).toBe(200)
    return { id, token: login.body.token as string }
  }

  return {
    orders,
    db,
    call,
    member,
    async close() {
      await orders.stop()
      await server.close()
    },
  }
}
