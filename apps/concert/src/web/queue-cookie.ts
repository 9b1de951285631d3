import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { CookieOptions } from 'hono/utils/cookie'
import { QUEUE_TOKEN_PATTERN } from '../waiting/waiting-room'

const QUEUE = 'tidings_queue'
/** Longer than any token lives (an active one ten minutes, an idle waiter five): the waiting room, not the cookie, says when it ended. */
const MAX_AGE_SECONDS = 6 * 3600

/**
 * The member's queue token for one concert, in a cookie whose path is that concert's pages.
 *
 * Why a cookie and not the URL: the token is a capability (with the member's session it shows seats, holds
 * and pays), and a URL carrying it lands in the history, in bookmarks and in links shared by mistake. Scoped
 * to `/concerts/<id>`, the browser sends it only to that concert's pages, so each concert has its own and a
 * second tab of the same concert shares it. HttpOnly and SameSite=Lax like the session. The queue page does
 * hand the token to its own script (the live status is read from `/api/queue/<token>/…`); those pages are
 * no-store like every page.
 */
export interface QueueCookie {
  /** The token for the concert of this request's page (the browser sends no other). */
  token(c: Context): string | undefined
  remember(c: Context, concertId: string, token: string): void
  forget(c: Context, concertId: string): void
}

export function queueCookie(options: { secure?: boolean } = {}): QueueCookie {
  // `__Host-` needs the path `/`: a concert's path can only have `__Secure-`.
  const prefix = options.secure ? ('secure' as const) : undefined
  const base = (concertId: string): CookieOptions => ({ httpOnly: true, sameSite: 'Lax', path: `/concerts/${concertId}`, ...(options.secure ? { secure: true, prefix: 'secure' } : {}) })
  return {
    token(c) {
      const value = getCookie(c, QUEUE, prefix)
      // It goes into API paths and headers: only what the waiting room makes.
      return value !== undefined && QUEUE_TOKEN_PATTERN.test(value) ? value : undefined
    },
    remember(c, concertId, token) {
      setCookie(c, QUEUE, token, { ...base(concertId), maxAge: MAX_AGE_SECONDS })
    },
    forget(c, concertId) {
      deleteCookie(c, QUEUE, base(concertId))
    },
  }
}
