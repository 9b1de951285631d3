import { Agent, request } from 'node:http'

/** The members the fuzz world signs up before the run; each has a live token, refreshed when a request revokes it. */
export type MemberName = 'alice' | 'bob' | 'staff' | 'oper'
export const MEMBER_NAMES: readonly MemberName[] = ['alice', 'bob', 'staff', 'oper']

/**
 * A credential, resolved when the request is sent (tokens change during the run: a fuzzed log-out or
 * password change revokes them, and the world signs in again).
 */
export type Credential =
  | { kind: 'token'; who: MemberName }
  /** A token of a member who has signed out since: `TOKEN_REVOKED`. */
  | { kind: 'revoked' }
  /** One of the world's forged tokens (alg none, HS256, another key, the real key with broken claims). */
  | { kind: 'forged'; name: string }
  | { kind: 'operatorSecret' }
  | { kind: 'serviceCredential' }
  | { kind: 'raw'; value: string }

/** How the credential travels; `template` holds `{}` where the credential goes (e.g. `Bearer {}`, `bearer  {} x`). */
export type Placement =
  | { in: 'authorization'; template: string }
  | { in: 'query'; name: string }
  | { in: 'cookie'; name: string }

export interface AuthSpec {
  credential: Credential
  placement: Placement
}

/** A body: bytes as they are, or one too large to keep in memory for every sampled request (made when sent). */
export type BodySpec =
  | { kind: 'bytes'; bytes: Buffer; chunks?: number }
  | { kind: 'filler'; prefix: string; size: number; chunked: boolean }

/** One generated request; `route` names the route it aims at (for the mix and for reports). */
export interface FuzzRequest {
  route: string
  method: string
  /** Already percent-encoded as it goes on the wire (Node refuses spaces and characters past U+00FF). */
  path: string
  /** Header values are latin1 strings: each character one byte on the wire, so 0x80–0xFF make invalid UTF-8. */
  headers: Record<string, string>
  auth?: AuthSpec
  body?: BodySpec
}

/** The request as sent, credentials resolved: what a report prints so that it can be sent again by hand. */
export interface SentRequest {
  route: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Buffer | { size: number; prefix: string }
}

export interface FuzzResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** The answer was a stream (Server-Sent Events): only its first bytes were read. */
  streamed: boolean
  /** The stream's connection closed under it after it had begun (how, and when). */
  cut?: string
}

/** At most this much of a body is read: enough to see a stack trace, not a whole page of posts. */
const MAX_BODY_CHARS = 512 * 1024
/** A stream's first event comes at once; more is not needed to judge it. */
const STREAM_READ_MS = 200

export class RequestTimedOut extends Error {}

/** Sent on a reused socket the server had closed: safe to send again (Node's advice for keep-alive agents). */
export class StaleSocket extends Error {}

export function httpAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 8 })
}

/** Sends one request over a socket of `agent` and reads its answer (a stream only briefly). */
export function send(baseUrl: URL, agent: Agent, req: SentRequest, original: FuzzRequest, timeoutMs: number): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (outcome: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      outcome()
    }
    const outgoing = request(
      { host: baseUrl.hostname, port: baseUrl.port, method: req.method, path: req.path, headers: req.headers, agent },
      (res) => {
        const streamed = String(res.headers['content-type'] ?? '').startsWith('text/event-stream')
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (body.length < MAX_BODY_CHARS) body += chunk
        })
        const done = () => finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, streamed }))
        res.on('end', done)
        const startedAt = performance.now()
        res.on('error', (error) => {
          const detail = `${error.message} after ${Math.round(performance.now() - startedAt)} ms, in a ${res.statusCode} ${String(res.headers['content-type'] ?? '')} answer that had sent ${JSON.stringify(body.slice(0, 200))}`
          // A stream that was answered, and had begun, and then lost its connection: nothing the checks judge.
          finish(() => (streamed && body.length > 0 ? resolve({ status: res.statusCode ?? 0, headers: res.headers, body, streamed, cut: detail }) : reject(new Error(detail))))
        })
        if (streamed) {
          setTimeout(() => {
            done()
            outgoing.destroy()
          }, STREAM_READ_MS)
        }
      },
    )
    const timer = setTimeout(() => {
      finish(() => reject(new RequestTimedOut(`no complete answer within ${timeoutMs} ms`)))
      outgoing.destroy()
    }, timeoutMs)
    // A server that refuses a body early may close the socket while it is still being sent: the answer counts.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed as idle just as it was reused: the request never reached it.
      const stale = outgoing.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up')
      finish(() => reject(stale ? new StaleSocket(error.message) : error))
    })
    writeBody(outgoing, original.body)
  })
}

function writeBody(outgoing: ReturnType<typeof request>, body: BodySpec | undefined): void {
  if (body === undefined) return void outgoing.end()
  if (body.kind === 'bytes') {
    const parts = Math.max(1, Math.min(body.chunks ?? 1, body.bytes.length))
    const size = Math.ceil(body.bytes.length / parts)
    for (let at = 0; at < body.bytes.length; at += size) outgoing.write(body.bytes.subarray(at, at + size))
    return void outgoing.end()
  }
  const bytes = fillerBytes(body)
  if (!body.chunked) return void outgoing.end(bytes)
  const size = 64 * 1024
  for (let at = 0; at < bytes.length; at += size) outgoing.write(bytes.subarray(at, at + size))
  outgoing.end()
}

/** A JSON-looking prefix padded with `x` to `size` bytes. */
export function fillerBytes(body: Extract<BodySpec, { kind: 'filler' }>): Buffer {
  const bytes = Buffer.alloc(Math.max(body.size, body.prefix.length), 'x')
  bytes.write(body.prefix, 0, 'utf8')
  return bytes
}

/** Whether a method may change state: these are fingerprinted one by one, the rest in batches. */
export const isSafeMethod = (method: string): boolean => method === 'GET' || method === 'HEAD' || method === 'OPTIONS'
