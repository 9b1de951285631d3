import type { FuzzRequest, FuzzResponse, SentRequest } from './fuzz-request'
import { isServiceRoute, presentsServiceCredential } from './service-routes.arbitraries'

export interface Finding {
  kind: 'server-error' | 'stack-trace' | 'not-problem-json' | 'service-route-open' | 'db-changed' | 'no-answer'
  detail: string
}

/** What gives away the server's insides: stack frames, source file positions, installed modules, file URLs. */
const LEAKS: readonly RegExp[] = [/\n\s+at \S/, /^\s*at [\w$.<>[\] ]+ \(/m, /\.(?:ts|tsx|js|mjs|cjs):\d+/, /node_modules/, /file:\/\//, /\b(?:apps|packages)\/[\w.-]+\/src\//]

/** Paths whose every refusal is problem+json; the rest are pages, which answer people with HTML. */
const API_PREFIXES = ['/api/', '/internal', '/console/api/', '/.well-known/', '/healthz', '/readyz', '/metrics']

/** A 503 the design asks for: a command whose consistency token is not reached in time (`NOT_CAUGHT_UP`: nothing happened). */
export function isDesignedUnavailable(req: SentRequest, res: FuzzResponse): boolean {
  const carriesPosition = Object.keys(req.headers).some((h) => h.toLowerCase() === 'tidings-position') || /[?&]position=/.test(req.path)
  return res.status === 503 && carriesPosition && problemCode(res) === 'NOT_CAUGHT_UP'
}

/**
 * A command that ran and ended in a refusal it records: a payment that did not go through (insufficient
 * balance, a hold that expired meanwhile) is kept, FAILED or REFUNDED, and its 409 carries it.
 */
export function isRecordedRefusal(res: FuzzResponse): boolean {
  if (res.status !== 409) return false
  try {
    const body = JSON.parse(res.body) as { payment?: { paymentId?: unknown } }
    return typeof body.payment?.paymentId === 'string'
  } catch {
    return false
  }
}

export function problemCode(res: FuzzResponse): string | undefined {
  try {
    const body = JSON.parse(res.body) as { code?: unknown }
    return typeof body.code === 'string' ? body.code : undefined
  } catch {
    return undefined
  }
}

const contentTypeOf = (res: FuzzResponse): string => String(res.headers['content-type'] ?? '')

/** Everything that is wrong with one answer, whatever the database did. */
export function checkResponse(original: FuzzRequest, req: SentRequest, res: FuzzResponse): Finding[] {
  const findings: Finding[] = []
  if (res.status >= 500 && !isDesignedUnavailable(req, res)) findings.push({ kind: 'server-error', detail: `${res.status} ${problemCode(res) ?? ''}`.trim() })
  const leak = leakIn(res.body, requestText(req))
  if (leak) findings.push({ kind: 'stack-trace', detail: `body holds ${JSON.stringify(leak)}` })
  if (res.status >= 400 && res.status < 500) {
    const problem = problemFinding(req, res)
    if (problem) findings.push(problem)
  }
  if (isServiceRoute(original.route) && !presentsServiceCredential(original.auth)) {
    const code = problemCode(res)
    // Refused before any route (401), not a route at all (404), or no request to route (a malformed Host: 400).
    const refused = req.method === 'HEAD' ? [400, 401, 404].includes(res.status) : code === 'SERVICE_CREDENTIAL_REQUIRED' || code === 'ROUTE_NOT_FOUND' || code === 'MALFORMED_REQUEST'
    if (res.status < 400 || !refused) findings.push({ kind: 'service-route-open', detail: `${res.status} ${code ?? contentTypeOf(res)} without the service credential` })
  }
  return findings
}

function problemFinding(req: SentRequest, res: FuzzResponse): Finding | undefined {
  const type = contentTypeOf(res)
  const pathname = req.path.split('?')[0]!
  const api = API_PREFIXES.some((p) => pathname.startsWith(p))
  if (type.startsWith('application/problem+json')) {
    if (req.method === 'HEAD') return undefined
    const code = problemCode(res)
    if (code === undefined || code === '') return { kind: 'not-problem-json', detail: `problem+json without a code: ${res.body.slice(0, 200)}` }
    try {
      const status = (JSON.parse(res.body) as { status?: unknown }).status
      if (status !== res.status) return { kind: 'not-problem-json', detail: `problem status ${String(status)} differs from the answer's ${res.status}` }
    } catch {
      // problemCode parsed it already
    }
    return undefined
  }
  // The pages answer people: their refusals are HTML pages (and the stream relay a line of text for EventSource).
  if (!api && type.startsWith('text/html')) return undefined
  if (!api && pathname === '/notifications/stream' && type.startsWith('text/plain')) return undefined
  return { kind: 'not-problem-json', detail: `${res.status} as ${type || 'no content type'}: ${res.body.slice(0, 200)}` }
}

/** A leak pattern found in the body that the request itself did not put there (an echo of input is no leak). */
export function leakIn(body: string, sent: string): string | undefined {
  for (const pattern of LEAKS) {
    const found = pattern.exec(body)
    if (found && !sent.includes(found[0].trim())) return body.slice(Math.max(0, found.index - 80), found.index + 120)
  }
  return undefined
}

function requestText(req: SentRequest): string {
  const body = req.body instanceof Buffer ? req.body.toString('utf8') : ''
  let path = req.path
  try {
    path += ' ' + decodeURIComponent(req.path)
  } catch {
    // Deliberately broken percent-encoding: the raw path is what was sent.
  }
  return `${path} ${Object.values(req.headers).join(' ')} ${body}`
}
