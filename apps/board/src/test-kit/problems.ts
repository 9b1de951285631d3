import { expect } from 'vitest'
import type { Queryable } from '@tidings/postgres'
import { eventually, transactionsSettled, type RawResponse } from '@tidings/testing'
import { serviceHeaders } from '@tidings/http'
import { TEST_SERVICE_CREDENTIAL } from './serve-board'
import type { BoardClient, PostDocumentBody } from './board-client'

/** An answer kept as text too, so that a non-JSON body (e.g. a plain-text 500) fails an assertion instead of a parse. */
export interface Reply {
  status: number
  contentType: string | null
  text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read problem and resource fields freely
  body: any
  position: string | null
}

export interface SendOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string
  /** The whole Authorization header, for malformed ones. */
  authorization?: string
  /** A string is sent byte for byte (raw JSON escapes survive); anything else as JSON. */
  body?: unknown
  /** Defaults to application/json when there is a body. */
  contentType?: string
  headers?: Record<string, string>
}

export async function send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`
  if (options.authorization !== undefined) headers.Authorization = options.authorization
  if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json'
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
  return replyOf(response.status, response.headers.get('content-type'), await response.text(), response.headers.get('tidings-position'))
}

export function fromRaw(raw: RawResponse): Reply {
  return replyOf(raw.status, raw.headers['content-type'] ?? null, raw.body, null)
}

function replyOf(status: number, contentType: string | null, text: string, position: string | null): Reply {
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  return { status, contentType, text, body, position }
}

/** A stack frame ("at fn (file:1:2)", raw or JSON-escaped) or a source path: none may reach a client. */
const LEAK = /\\n\s+at |\n\s+at |\bat [\w.<>$]+ \(|\/src\/|\.[cm]?[jt]s:\d|node_modules|node:internal|file:\/\//

/** A clean refusal: the status, problem+json, the stable code, and nothing of the server's insides. */
export function expectProblem(reply: Reply, status: number, code: string, label = ''): void {
  const where = `${label} → ${reply.status} ${reply.contentType} ${reply.text.slice(0, 400)}`
  expect(reply.status, where).toBe(status)
  expect(reply.contentType, where).toBe('application/problem+json')
  expect(reply.body?.code, where).toBe(code)
  expect(reply.body?.status, where).toBe(status)
  expect(reply.text, where).not.toMatch(LEAK)
}

const SOURCES = ['identity.member', 'board.post', 'board.comment']

/** How many events a feed holds and where it ends, read page by page from the start. */
async function readFeed(baseUrl: string, source: string): Promise<{ length: number; head: string }> {
  let after = '0'
  let length = 0
  for (;;) {
    const url = `${baseUrl}/api/feeds/${source}?after=${encodeURIComponent(after)}&limit=1000`
    const page = (await (await fetch(url, { headers: serviceHeaders(TEST_SERVICE_CREDENTIAL) })).json()) as { items: unknown[]; next: string }
    length += page.items.length
    after = page.next
    if (page.items.length < 1000) return { length, head: after }
  }
}

export async function feedLength(baseUrl: string, source: string): Promise<number> {
  return (await readFeed(baseUrl, source)).length
}

/**
 * The lengths of the three producing feeds, to show that a refused request wrote nothing. A feed hides
 * commits behind any older open transaction (a projection's, say), so this waits for those to end first.
 */
export async function feedLengths(baseUrl: string, db: Queryable): Promise<Record<string, number>> {
  await transactionsSettled(db)
  return Object.fromEntries(await Promise.all(SOURCES.map(async (s) => [s, await feedLength(baseUrl, s)] as const)))
}

/**
 * A session of every feed's head (`source@position,…`): a read sent with it waits until the read side has
 * applied everything written so far, whoever wrote it (earlier tests' nickname changes included).
 */
export async function everythingSoFar(baseUrl: string, db: Queryable): Promise<string> {
  await transactionsSettled(db)
  const heads = await Promise.all(SOURCES.map(async (s) => `${s}@${(await readFeed(baseUrl, s)).head}`))
  return heads.filter((token) => !token.endsWith('@0')).join(',')
}

/**
 * A post's document once the read side shows it. A read-your-writes read answers stale after 2 s, which a
 * loaded test machine can reach; these tests are about content, not latency.
 */
export async function documentOnceReady(client: BoardClient, postId: string, position: string | null, ready: (doc: PostDocumentBody) => boolean = () => true): Promise<PostDocumentBody> {
  const answer = await eventually(() => client.document(postId, position), (r) => r.status === 200 && ready(r.body), { what: `the document of post ${postId}` })
  return answer.body
}
