import { silentLogger, TidingsError, ValidationFailed, type ErrorKind, type Logger } from '@tidings/core'
import { isInfrastructureError } from '@tidings/postgres'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** The one place where error kinds become HTTP statuses. */
export const statusOfKind: Readonly<Record<ErrorKind, ContentfulStatusCode>> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  unavailable: 503,
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** An RFC 9457 problem document as Tidings renders it; `code` is the stable, machine-readable part. */
export interface Problem {
  type: string
  title: string
  status: number
  code: string
  detail: string
  fields?: Array<{ path: string; message: string }>
  [extension: string]: unknown
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** The request body is not JSON at all (as opposed to JSON of the wrong shape, which is VALIDATION). */
export class MalformedJson extends TidingsError {
  constructor() {
    super('MALFORMED_JSON', 'validation', 'The request body is not valid JSON')
  }
}

/**
 * The request body is not UTF-8, which JSON must be. Refused rather than decoded with replacement
 * characters, which would store something the client never sent.
 */
export class InvalidUtf8 extends TidingsError {
  constructor() {
    super('INVALID_UTF8', 'validation', 'The request body is not valid UTF-8')
  }
}

export class UnsupportedMediaType extends TidingsError {
  constructor(expected: string, got: string | undefined) {
    super('UNSUPPORTED_MEDIA_TYPE', 'validation', `Expected a ${expected} body, got ${got ? JSON.stringify(got.slice(0, 80)) : 'none'}`)
  }
}

export class RouteNotFound extends TidingsError {
  constructor(method: string, path: string) {
    super('ROUTE_NOT_FOUND', 'not_found', `No route for ${method} ${path.slice(0, 200)}`)
  }
}

export function problemType(code: string): string {
  return `urn:tidings:problem:${code.toLowerCase().replace(/_/g, '-')}`
}

export function problem(status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: problemType(code), title: TITLES[status] ?? `HTTP ${status}`, status, code, detail, ...extensions }
}

/**
 * Turns anything thrown into a problem. A failure of the database or the network (a lost connection, a
 * server out of connections, a deadlock: `isInfrastructureError`) is a 503 `UNAVAILABLE`, worth trying
 * again. Other errors the platform does not know become a bare 500 `INTERNAL`. Either way their message
 * and stack go to the log, never to the client.
 */
export function problemOf(error: unknown, logger: Logger = silentLogger, context: Record<string, unknown> = {}): Problem {
  if (error instanceof TidingsError) {
    const status = statusOfKind[error.kind] ?? 500
    if (status >= 500) logger.warn({ ...context, err: error, code: error.code }, 'request failed: dependency unavailable')
    const extensions = error instanceof ValidationFailed ? { fields: error.fields } : {}
    return problem(status, error.code, error.message, extensions)
  }
  if (error instanceof HTTPException && error.status < 500) {
    // Hono's own middleware throws these (e.g. a malformed request); their messages are written for clients.
    if (error.status === 413) return problem(413, 'PAYLOAD_TOO_LARGE', 'The payload is too large')
    return problem(error.status, `HTTP_${error.status}`, error.message || TITLES[error.status] || 'The request was refused')
  }
  if (isInfrastructureError(error)) {
    logger.warn({ ...context, err: error }, 'request failed: database or network unavailable')
    return problem(503, 'UNAVAILABLE', 'A service this request needs is unavailable; try again')
  }
  logger.error({ ...context, err: error }, 'request failed: unexpected error')
  return problem(500, 'INTERNAL', 'An unexpected error occurred')
}

export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Cache-Control': 'no-store', ...headers },
  })
}
