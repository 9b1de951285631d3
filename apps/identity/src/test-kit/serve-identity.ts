import { request as httpRequest } from 'node:http'
import { hostServices, serveHttp, serviceContext } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { identityService, type IdentityOptions, type IdentityService } from '../identity.service'

/** What the identity service's tests present to its `/internal` routes. */
export const TEST_SERVICE_CREDENTIAL = 'identity-service-credential-for-tests'

export interface ServedIdentity {
  identity: IdentityService
  baseUrl: string
  stop(): Promise<void>
}

/** The identity service alone on a database, served on a free loopback port, started. */
export async function serveIdentity(db: Database, options: IdentityOptions = {}): Promise<ServedIdentity> {
  const ctx = serviceContext({ db, serviceCredential: TEST_SERVICE_CREDENTIAL })
  const identity = await identityService(ctx, options)
  const host = hostServices(ctx, [identity])
  await host.start()
  const server = await serveHttp(host.http, 0, { hostname: '127.0.0.1' })
  return {
    identity,
    baseUrl: `http://127.0.0.1:${server.port}`,
    async stop() {
      await host.stop()
      await server.close()
    },
  }
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read problem and resource fields freely
  body: any
}

export interface CallOptions {
  body?: unknown
  token?: string
  headers?: Record<string, string>
  /** The loopback address the request leaves from (`127.0.0.2`, …): to the server, a client of its own. */
  from?: string
}

/** A request over a socket of its own, from `from`, so the server sees that address as the client's. */
export function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const url = new URL(path, baseUrl)
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers: Record<string, string> = { ...options.headers }
  if (payload !== undefined) headers['Content-Type'] = 'application/json'
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers, agent: false, ...(options.from ? { localAddress: options.from } : {}) },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}
