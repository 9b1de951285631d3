import type { GuestPage } from './guest-pages'

/**
 * Pages may show what the member wrote, so no shared cache keeps them; they come from this site only, may
 * not be framed (clickjacking), and may only run our own script and post forms back to us.
 */
export const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'self'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
}

/**
 * A page for guests shows nothing private: a browser may keep it and ask again with `If-None-Match`. It
 * varies with the cookie, so that no cache hands a guest's copy to a member or back.
 */
export function guestPageHeaders(page: GuestPage): Record<string, string> {
  return { ...PAGE_HEADERS, 'Cache-Control': 'no-cache', Vary: 'Cookie', ETag: page.etag }
}

/** As Hono's `c.html` says it. */
export const HTML_TYPE = 'text/html; charset=UTF-8'
