import { readFileSync } from 'node:fs'
import { Hono } from 'hono'
import { type BoardApi, consoleLogger, sessionCookies, webErrors } from '@tidings/board'
import type { Logger } from '@tidings/core'
import { concertPages } from './concert-pages.routes'
import type { ConcertWebDeps } from './concert-web-request'
import { queueCookie } from './queue-cookie'
import { reservationPages } from './reservation-pages.routes'
import { seatPages } from './seat-pages.routes'

export interface ConcertWebOptions {
  /** The app's public JSON API (the concert system's and identity's): every read and write of the pages goes through it. */
  api: BoardApi
  /** Secure cookies (over HTTPS): the board's session cookie is read as the board writes it, the queue token's written alike. */
  secureCookies?: boolean
  /** Where unexpected failures go (the page itself shows no details); the console by default. */
  logger?: Logger
}

/** Read once, served from memory. */
const CONCERT_JS = readFileSync(new URL('./assets/concert.js', import.meta.url), 'utf8')
const SCRIPT_HEADERS = { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' }

/**
 * The concert system's web pages: the concerts, a concert's queue, a performance's seats, holding and
 * paying for a seat. Server-rendered, in the board's layout and with its session (a member logs in once,
 * on the board's /login), working without JavaScript; the script only makes the queue and the seat map
 * live. A client of the JSON API like the board's pages. Mount at `/` beside the API and the board's pages.
 */
export function concertWeb(options: ConcertWebOptions): Hono {
  const logger = options.logger ?? consoleLogger
  const secure = options.secureCookies ?? false
  const deps: ConcertWebDeps = { api: options.api, cookies: sessionCookies({ secure }), queue: queueCookie({ secure }), logger }
  const web = new Hono()

  web.get('/assets/concert.js', (c) => c.body(CONCERT_JS, 200, SCRIPT_HEADERS))
  web.route('/', concertPages(deps))
  web.route('/', seatPages(deps))
  web.route('/', reservationPages(deps))

  // Errors become the board's error pages. No not-found page of its own: mounted beside the board's pages
  // (whose login it needs anyway), any other path is theirs or the API's.
  web.onError(webErrors(logger))
  return web
}
