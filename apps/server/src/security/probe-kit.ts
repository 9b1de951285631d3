import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { serviceContext } from '@tidings/http'
import { identityService } from '@tidings/identity'
import { openDatabase } from '@tidings/postgres'
import { openEventStream, startProcess, type EventStreamReader, type ManagedProcess } from '@tidings/testing'

/**
 * What the security probes (issue #16) need of a real `npm start`: the process, plain requests that keep
 * every answer (problem, page or JSON), and the refusal check every probe ends in.
 */

/** What `npm start` runs. */
const MAIN = new URL('../main.ts', import.meta.url)

export interface RunningSystem {
  process: ManagedProcess
  baseUrl: string
  port: number
  /** The line the process logged when it started listening. */
  listening: string
  stop(): Promise<void>
}

export interface StartOptions {
  /** Runs on the fresh data directory before the process opens it (only one process may have it open). */
  beforeStart?: (dataDir: string) => Promise<void>
}

/**
 * Starts `npm start`'s entry point on a fresh embedded data directory and a free port. `env` is laid over
 * a clean slate of every setting the probes rely on (whatever the caller's environment says), so that
 * the defaults under test are `npm start`'s own.
 */
export async function startSystem(env: Record<string, string>, options: StartOptions = {}): Promise<RunningSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-probes-'))
  try {
    await options.beforeStart?.(dataDir)
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  const child = startProcess('npm start (security probes)', MAIN, {
    PORT: '0',
    TIDINGS_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // Empty is "not set": npm start's defaults, not whatever the machine running the tests exports.
    DATABASE_URL: '',
    VIEW_DATABASE_URL: '',
    HOST: '',
    TIDINGS_SERVICE_TOKEN: '',
    TIDINGS_CONSISTENCY_TIMEOUT_MS: '',
    TIDINGS_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '',
    TIDINGS_LOGIN_FAILURES_PER_ACCOUNT: '',
    TIDINGS_LOGIN_ATTEMPTS_PER_ADDRESS: '',
    TIDINGS_SIGNUPS_PER_ADDRESS: '',
    TIDINGS_SIGNUPS_PER_ACCOUNT: '',
    TIDINGS_TRUST_PROXY: '',
    ...env,
  })
  try {
    // initdb of a fresh data directory takes long on a loaded machine.
    const listening = await child.waitForLine((line) => line.includes('listening on'), 150_000)
    const { port } = JSON.parse(listening) as { port: number }
    return {
      process: child,
      port,
      baseUrl: `http://127.0.0.1:${port}`,
      listening,
      async stop() {
        await child.kill('SIGKILL')
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

/**
 * A genuine token — signed by the identity service's own key — of a member that exists nowhere: what a
 * deleted member's token, or a database restored from before the member joined, would present. Made on
 * the data directory before `npm start` opens it: the identity service (its own code, here) makes the
 * signing key the process then loads and signs with, and the key's holder mints a token for a random id.
 */
export async function genuineTokenOfNobody(dataDir: string): Promise<{ memberId: string; token: string }> {
  const db = await openDatabase({ dataDir })
  try {
    const identity = await identityService(serviceContext({ db }))
    const memberId = randomUUID()
    return { memberId, token: (await identity.issue(memberId)).token }
  } finally {
    await db.close()
  }
}

/** An answer kept whole: the text too, so that a page or a plain-text error fails an assertion, not a parse. */
export interface Reply {
  status: number
  headers: Headers
  contentType: string | null
  text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the probes read problem and resource fields freely
  body: any
  position: string | null
}

export interface SendOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string
  /** JSON unless a string (sent as it is) or bytes (sent byte for byte); with a JSON content type. */
  body?: unknown
  headers?: Record<string, string>
}

export async function send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`
  let body: string | Uint8Array | undefined
  if (options.body !== undefined) {
    headers['Content-Type'] ??= 'application/json'
    body = typeof options.body === 'string' || options.body instanceof Uint8Array ? options.body : JSON.stringify(options.body)
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), text, body: parsed, position: response.headers.get('tidings-position') }
}

/** A stack frame or a source path: no refusal may carry the server's insides. */
const LEAK = /\n\s+at |\bat [\w.<>$]+ \(|\/src\/|\.[cm]?[jt]s:\d|node_modules|node:internal|file:\/\//

/** The refusal a probe expects: this status, as problem+json with this stable code, and nothing of the server's insides. */
export function expectRefused(reply: Reply, status: number, code: string, label = ''): void {
  const where = `${label} → ${reply.status} ${reply.contentType} ${reply.text.slice(0, 300)}`
  expect(reply.status, where).toBe(status)
  expect(reply.contentType, where).toMatch(/^application\/problem\+json/)
  expect(reply.body?.code, where).toBe(code)
  expect(reply.text, where).not.toMatch(LEAK)
}

/** A 429's `Retry-After`: whole seconds, at least one. */
export function expectRetryAfter(reply: Pick<Reply, 'headers'>, label = ''): void {
  const value = reply.headers.get('retry-after')
  expect(value, `${label} Retry-After`).toMatch(/^[1-9]\d*$/)
}

let signUps = 0

/** Signs a member up without logging in (a log-in counts against the per-address limit, a sign-up does not). */
export async function signUp(baseUrl: string, name: string): Promise<{ memberId: string; email: string; nickname: string; password: string }> {
  // Unique, and apart from BoardClient.newMember's `<name><pid>x<n>`; at most 20 characters for a name of up to 9.
  const nickname = `${name}${process.pid % 10_000}s${++signUps}`
  const email = `${nickname}@example.com`
  const password = 'correct horse'
  const reply = await send(baseUrl, 'POST', '/api/members', { body: { email, password, nickname } })
  if (reply.status !== 201) throw new Error(`sign-up failed: ${reply.status} ${reply.text}`)
  return { memberId: reply.body.memberId as string, email, nickname, password }
}

/** Opens `count` server-sent event streams, each once it has said `ready`. */
export async function openStreams(url: string, count: number, init: RequestInit = {}): Promise<EventStreamReader[]> {
  const streams: EventStreamReader[] = []
  try {
    for (let i = 0; i < count; i++) {
      const stream = await openEventStream(url, init)
      streams.push(stream)
      expect(stream.response.status, `stream ${i + 1}`).toBe(200)
      await stream.next('ready')
    }
    return streams
  } catch (error) {
    for (const stream of streams) stream.close()
    throw error
  }
}

/** One more stream request: its status, closed at once (a 429's problem read first). */
export async function oneMoreStream(url: string, init: RequestInit = {}): Promise<Reply> {
  const abort = new AbortController()
  const response = await fetch(url, { ...init, signal: abort.signal })
  if (response.status === 200) {
    abort.abort()
    return { status: 200, headers: response.headers, contentType: response.headers.get('content-type'), text: '', body: undefined, position: null }
  }
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), text, body, position: null }
}

/** Whether a TCP connection to `host:port` is refused (or cannot be made at all): true when nobody answers there. */
export function connectionFails(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5_000 })
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('timeout', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(true))
  })
}

/** This machine's addresses other than the loopback (link-local IPv6 left out: it needs a scope to dial). */
export function nonLoopbackAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')))
    .map((a) => a.address)
}
