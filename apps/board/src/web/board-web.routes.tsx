import { readFileSync } from 'node:fs'
import { Hono } from 'hono'
import type { Logger } from '@tidings/core'
import { ErrorPage } from './error.page'
import { GuestPages } from './guest-pages'
import { memberPages } from './member-pages.routes'
import { notificationPages } from './notification-pages.routes'
import { postPages } from './post-pages.routes'
import { sessionCookies } from './session-cookies'
import type { BoardApi } from './web-api'
import { webErrors } from './web-errors'
import { renderBare } from './web-request'

export type { BoardApi } from './web-api'

export interface BoardWebOptions {
  /** The board's public JSON API: every read and write of the pages goes through it. */
  api: BoardApi
  /** Mark the session cookies Secure (and `__Host-`): on whenever the site is served over HTTPS. */
  secureCookies?: boolean
  /** Where unexpected failures go (the page itself shows no details); the console by default. */
  logger?: Logger
  /** The pages as guests see them, kept between requests; pass them to `guestPagesFastPath` as well to serve them before the app. */
  guestPages?: GuestPages
}

/** Failures must be seen somewhere even when the host passes no logger. */
export const consoleLogger: Logger = {
  info: () => {},
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
}

/** Read once: the script is small, and serving it from memory needs no file access per request. */
const BOARD_JS = readFileSync(new URL('./assets/board.js', import.meta.url), 'utf8')

/**
 * The board's web pages, server-rendered, working without JavaScript. A client of the JSON API like any
 * other (validation, error codes and consistency tokens are the API's), so the same pages could point at a
 * remote entry point. Mount at `/` beside the API: `http.route('/', boardWeb({ api }))`.
 */
export function boardWeb(options: BoardWebOptions): Hono {
  const logger = options.logger ?? consoleLogger
  const deps = { api: options.api, cookies: sessionCookies({ secure: options.secureCookies ?? false }), logger, guestPages: options.guestPages ?? new GuestPages() }
  const web = new Hono()

  web.get('/assets/board.js', (c) =>
    c.body(BOARD_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' }),
  )
  web.route('/', postPages(deps))
  web.route('/', memberPages(deps))
  web.route('/', notificationPages(deps))

  // Both apply to these routes wherever the app is mounted; the not-found page only when it is served on its own.
  web.onError(webErrors(logger))
  web.notFound((c) => renderBare(c, { title: 'Not found' }, <ErrorPage heading="Not found" message="There is no such page." />, 404))
  return web
}
