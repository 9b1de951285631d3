import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { CookieOptions } from 'hono/utils/cookie'
import { formatSession, parseSessionLeniently, type TokenSession } from '@tidings/core'

const SESSION = 'tidings_session'
const POSITIONS = 'tidings_positions'

/**
 * Whether a Cookie header may carry either cookie, in any of its spellings (`__Host-` included): checked
 * before any parsing, by those that may only answer requests without them.
 */
export const mayCarrySession = (header: string | undefined): boolean => header !== undefined && header.includes('tidings_')

/** A compact JWT and nothing else: the cookie's value goes into an Authorization header, where a stray byte would throw. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_TOKEN_LENGTH = 4096

/**
 * Positions only matter for the read right after a write; kept longer, positions from a database that has
 * since been reset would make every read wait out its timeout.
 */
const POSITIONS_MAX_AGE_SECONDS = 600
/** Browsers cap cookie lifetimes at 400 days, and Hono refuses to write longer ones. */
const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 3600
/**
 * The two cookies of a browser session: the member's bearer token, and the newest position its writes
 * reached in each feed (sent back as `Tidings-Position` so that the next page shows those writes). Both
 * HttpOnly: no script of ours needs them, and none injected should read them.
 */
export interface SessionCookies {
  token(c: Context): string | undefined
  signIn(c: Context, token: string, expiresAt: string, now?: Date): void
  signOut(c: Context): void
  positions(c: Context): TokenSession
  savePositions(c: Context, positions: TokenSession): void
}

export function sessionCookies(options: { secure?: boolean } = {}): SessionCookies {
  // With Secure, the __Host- prefix also pins the cookie to this host and path: no subdomain can plant one.
  const prefix = options.secure ? ('host' as const) : undefined
  const base: CookieOptions = { httpOnly: true, sameSite: 'Lax', path: '/', ...(options.secure ? { secure: true, prefix: 'host' } : {}) }

  return {
    token(c) {
      const value = getCookie(c, SESSION, prefix)
      return value !== undefined && value.length <= MAX_TOKEN_LENGTH && TOKEN_SHAPE.test(value) ? value : undefined
    },
    signIn(c, token, expiresAt, now = new Date()) {
      const seconds = Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000)
      // The cookie lives as long as the token it carries; a nonsense expiry falls back to the token's usual hour.
      const maxAge = Number.isFinite(seconds) ? Math.max(0, Math.min(seconds, MAX_COOKIE_AGE_SECONDS)) : 3600
      setCookie(c, SESSION, token, { ...base, maxAge })
    },
    signOut(c) {
      deleteCookie(c, SESSION, base)
      deleteCookie(c, POSITIONS, base)
    },
    positions(c) {
      // A tampered or outdated cookie costs read-your-writes, never the page.
      return parseSessionLeniently(getCookie(c, POSITIONS, prefix) ?? '')
    },
    savePositions(c, positions) {
      setCookie(c, POSITIONS, formatSession(positions), { ...base, maxAge: POSITIONS_MAX_AGE_SECONDS })
    },
  }
}
