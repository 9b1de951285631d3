import type { Context } from 'hono'
import { formatSession, mergeToken, TidingsError, type TokenSession } from '@tidings/core'
import { POSITION_HEADER } from '@tidings/http'
import type { ApiProblem } from './api-types'
import type { SessionCookies } from './session-cookies'

/**
 * The board's JSON API as the pages reach it: in process (`app.request`, which may answer synchronously)
 * or, later, over the wire. The pages never touch repositories, so validation, error codes and
 * consistency all stay the API's. `bindings` are the page request's own (its socket): in process, the API
 * sees the browser's address through them (the sign-in limits count per address).
 */
export type BoardApi = (path: string, init?: RequestInit, bindings?: object) => Promise<Response> | Response

/**
 * An answer: a success's body (parsed when first read) and its ETag if it had one, or a refusal's problem.
 * A 304 (asked for with `ifNoneMatch`) is a success without a body: the caller's copy is current.
 */
export type ApiAnswer<T> = { ok: true; status: number; body: T; etag?: string } | { ok: false; status: number; problem: ApiProblem }

/** This request needs a signed-in member and has none (or the token expired): the error handler sends them to log in. */
export class SignInRequired extends Error {
  constructor() {
    super('Sign-in required')
  }
}

/** The API failed on its side (5xx): nothing the member typed is wrong, so no form is re-rendered. */
export class BoardUnavailable extends TidingsError {
  constructor(status: number) {
    super('BOARD_UNAVAILABLE', 'unavailable', 'The board is not answering right now. Please try again in a moment.', { status })
  }
}

export interface CallOptions {
  /** Sent as JSON. */
  body?: unknown
  /**
   * `required`: the member's token goes along; without one, or when the API refuses it, the member must
   * sign in. `optional`: the token goes along if there is one, and a refused one just signs the browser out.
   */
  auth?: 'required' | 'optional'
  /** Send this browser's positions, so that the read waits until it shows the browser's own writes. */
  fresh?: boolean
  /** The ETag of the answer the caller holds: if it is still current, the answer is a 304 without a body. */
  ifNoneMatch?: string | undefined
}

/** One request's view of the API: carries the session's token and positions, and keeps the positions cookie up to date. */
export class WebApi {
  private token: string | undefined
  private positions: TokenSession
  /** Cleared once already in this request: the viewer lookup's two calls may both be refused. */
  private signedOut = false

  constructor(
    private readonly api: BoardApi,
    private readonly c: Context,
    private readonly cookies: SessionCookies,
  ) {
    this.token = cookies.token(c)
    this.positions = cookies.positions(c)
  }

  get hasSession(): boolean {
    return this.token !== undefined
  }

  /** The session's bearer token for a call made by hand (the event stream), or SignInRequired. */
  bearer(): string {
    if (this.token === undefined) throw new SignInRequired()
    return this.token
  }

  signIn(token: string, expiresAt: string): void {
    this.token = token
    this.signedOut = false
    this.cookies.signIn(this.c, token, expiresAt)
  }

  signOut(): void {
    this.token = undefined
    if (this.signedOut) return
    this.signedOut = true
    this.cookies.signOut(this.c)
  }

  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (options.auth === 'required' && this.token === undefined) throw new SignInRequired()
    if (options.auth && this.token !== undefined) headers.Authorization = `Bearer ${this.token}`
    if (options.fresh && this.positions.size > 0) headers[POSITION_HEADER] = formatSession(this.positions)
    if (options.ifNoneMatch !== undefined) headers['If-None-Match'] = options.ifNoneMatch
    if (options.body !== undefined) headers['Content-Type'] = 'application/json'
    const response = await this.api(path, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) }, this.c.env as object | undefined)
    this.remember(response.headers.get(POSITION_HEADER))
    if (response.status === 304) return { ok: true, status: 304, body: undefined as T, ...(options.ifNoneMatch ? { etag: options.ifNoneMatch } : {}) }
    const text = await response.text()

    if (response.ok) {
      const etag = response.headers.get('etag')
      let body: { parsed: T } | undefined
      return {
        ok: true,
        status: response.status,
        ...(etag ? { etag } : {}),
        // Parsed on first use: a guest's page served from its rendered bytes never reads it.
        get body(): T {
          body ??= { parsed: (text ? JSON.parse(text) : undefined) as T }
          return body.parsed
        },
      }
    }
    if (response.status === 401 && headers.Authorization) {
      // The token expired (or was never good): drop it, so that the browser stops sending it.
      this.signOut()
      if (options.auth === 'required') throw new SignInRequired()
    }
    if (response.status >= 500) {
      if (response.status === 503) throw new BoardUnavailable(response.status)
      throw new Error(`The board API answered ${method} ${path} with ${response.status}`)
    }
    return { ok: false, status: response.status, problem: problemOf(response.status, text) }
  }

  private remember(token: string | null): void {
    if (!token) return
    this.positions = mergeToken(this.positions, token)
    this.cookies.savePositions(this.c, this.positions)
  }
}

function problemOf(status: number, text: string): ApiProblem {
  try {
    const body = JSON.parse(text) as Partial<ApiProblem>
    if (typeof body.detail === 'string') {
      return { status, code: typeof body.code === 'string' ? body.code : `HTTP_${status}`, detail: body.detail, ...(Array.isArray(body.fields) ? { fields: body.fields } : {}) }
    }
  } catch {
    // Not a problem document: fall through to a generic refusal.
  }
  return { status, code: `HTTP_${status}`, detail: 'The request was refused.' }
}
