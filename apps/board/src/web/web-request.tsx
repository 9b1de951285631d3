import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from '@tidings/core'
import { holdsCurrent } from '@tidings/http'
import { type GuestPage, guestPage, type GuestPages } from './guest-pages'
import { guestPageHeaders, HTML_TYPE, PAGE_HEADERS } from './page-headers'
import type { Me, NotificationList } from './api-types'
import { Layout, type Section, type Viewer } from './layout'
import type { SessionCookies } from './session-cookies'
import { type BoardApi, SignInRequired, WebApi } from './web-api'

/** What every page route needs, fixed when the web app is built. */
export interface WebDeps {
  api: BoardApi
  cookies: SessionCookies
  logger: Logger
  /** Pages as guests see them, rendered once per version of what they show (without it, rendered every time). */
  guestPages?: GuestPages
}

/** What a page shows: its title, its nav entry, its main content. */
export interface PageContent {
  title: string
  section?: Section
  body: Child
}

/** One request to the pages: its API client and who is signed in, asked once and remembered for the error page too. */
export class WebRequest {
  readonly api: WebApi
  private viewing: Promise<Viewer | undefined> | undefined
  /** The viewer once known, for pages rendered after a failure (which must not ask the API again). */
  known: Viewer | undefined

  constructor(
    private readonly c: Context,
    private readonly deps: WebDeps,
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

  /**
   * The page guests were last served at this path, when this request is a guest's: ask the API for what
   * it shows with `ifNoneMatch: held?.source`, and hand both to `renderForGuests`.
   */
  heldGuestPage(): GuestPage | undefined {
    return this.api.hasSession ? undefined : this.deps.guestPages?.get(this.c.req.path)
  }

  /**
   * A page that shows one API answer and is the same for every guest: for a guest it is rendered once per
   * version of that answer (its ETag) and served as bytes after, with an ETag of its own (304 to a browser
   * that holds it). When the API said the `held` page's answer is still current (304), that page is served
   * as it is. A member gets the page rendered for them, as `render` does.
   */
  async renderForGuests(answer: { status: number; etag?: string }, held: GuestPage | undefined, content: () => PageContent): Promise<Response> {
    const pages = this.deps.guestPages
    let shown = answer.status === 304 ? held : undefined
    if (!shown) {
      if (!pages || answer.etag === undefined || (await this.viewer()) !== undefined) {
        const { body, ...page } = content()
        return this.render(page, body)
      }
      const { body, title, section } = content()
      const html = String(
        await (
          <Layout title={title} section={section}>
            {body}
          </Layout>
        ).toString(),
      )
      shown = guestPage(answer.etag, html)
      pages.set(this.c.req.path, shown)
    }
    const headers = guestPageHeaders(shown)
    if (holdsCurrent(this.c.req.header('if-none-match'), shown.etag)) return this.c.body(null, 304, headers)
    return this.c.body(shown.bytes, 200, { ...headers, 'Content-Type': HTML_TYPE })
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
