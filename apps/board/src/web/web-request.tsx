import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from '@tidings/core'
import type { Me, NotificationList } from './api-types'
import { Layout, type Section, type Viewer } from './layout'
import type { SessionCookies } from './session-cookies'
import { type BoardApi, SignInRequired, WebApi } from './web-api'

/** What every page route needs, fixed when the web app is built. */
export interface WebDeps {
  api: BoardApi
  cookies: SessionCookies
  logger: Logger
}

/**
 * Pages may show what the member wrote, so no shared cache keeps them; they come from this site only, may
 * not be framed (clickjacking), and may only run our own script and post forms back to us.
 */
const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'self'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
}

/** One request to the pages: its API client and who is signed in, asked once and remembered for the error page too. */
export class WebRequest {
  readonly api: WebApi
  private viewing: Promise<Viewer | undefined> | undefined
  /** The viewer once known, for pages rendered after a failure (which must not ask the API again). */
  known: Viewer | undefined

  constructor(
    private readonly c: Context,
    deps: WebDeps,
  ) {
    this.api = new WebApi(deps.api, c, deps.cookies)
  }

  /** The signed-in member, or undefined — also when the session cookie is expired or garbage (it is then cleared). */
  viewer(): Promise<Viewer | undefined> {
    this.viewing ??= this.lookUpViewer()
    return this.viewing
  }

  /** The signed-in member; without one the error handler sends the browser to the login page. */
  async member(): Promise<Viewer> {
    const viewer = await this.viewer()
    if (!viewer) throw new SignInRequired()
    return viewer
  }

  async render(page: { title: string; section?: Section }, body: Child, status: ContentfulStatusCode = 200): Promise<Response> {
    const viewer = await this.viewer()
    return this.c.html(
      <Layout title={page.title} viewer={viewer} section={page.section}>
        {body}
      </Layout>,
      status,
      PAGE_HEADERS,
    )
  }

  private async lookUpViewer(): Promise<Viewer | undefined> {
    if (!this.api.hasSession) return undefined
    const [me, notifications] = await Promise.all([
      this.api.call<Me>('GET', '/api/members/me', { auth: 'optional' }),
      this.api.call<NotificationList>('GET', '/api/notifications?limit=1', { auth: 'optional' }),
    ])
    if (!me.ok || !this.api.hasSession) return undefined
    this.known = { memberId: me.body.memberId, nickname: me.body.nickname, unread: notifications.ok ? notifications.body.unread : 0 }
    return this.known
  }
}

/** Renders without asking the API anything: for the error handler, whatever state the request is in. */
export function renderBare(c: Context, page: { title: string }, body: Child, status: ContentfulStatusCode, viewer?: Viewer): Response | Promise<Response> {
  return c.html(
    <Layout title={page.title} viewer={viewer}>
      {body}
    </Layout>,
    status,
    PAGE_HEADERS,
  )
}

/** Per request (the context), so that the error handler finds what the page had learnt. */
const REQUESTS = new WeakMap<Context, WebRequest>()

/** The request's page helper, made on first use (not by a `*` middleware: mounted at `/`, that would run for every API route too). */
export function webOf(c: Context, deps: WebDeps): WebRequest {
  let web = REQUESTS.get(c)
  if (!web) {
    web = new WebRequest(c, deps)
    REQUESTS.set(c, web)
  }
  return web
}

/** The request's page helper if a route made one. */
export const existingWebOf = (c: Context): WebRequest | undefined => REQUESTS.get(c)
