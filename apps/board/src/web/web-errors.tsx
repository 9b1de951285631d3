import type { Context, ErrorHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type Logger, TidingsError } from '@tidings/core'
import { statusOfKind } from '@tidings/http'
import { ErrorPage, headingOf } from './error.page'
import { loginPath } from './safe-next'
import { BoardUnavailable, SignInRequired } from './web-api'
import { existingWebOf, renderBare } from './web-request'

/**
 * Failures in the pages become HTML pages, not problem+json: a browser shows them to a person. Known
 * errors say what happened; anything else is a bare "Something went wrong", with the details in the log.
 */
export function webErrors(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof SignInRequired) return c.redirect(loginPath(comeBackTo(c)), 303)
    const viewer = existingWebOf(c)?.known
    const { status, message } = describe(error, c, logger)
    return renderBare(c, { title: headingOf(status) }, <ErrorPage heading={headingOf(status)} message={message} />, status, viewer)
  }
}

function describe(error: unknown, c: Context, logger: Logger): { status: ContentfulStatusCode; message: string } {
  if (error instanceof TidingsError) {
    const status = statusOfKind[error.kind] ?? 500
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, 'page failed: board unavailable')
    return { status, message: status < 500 || error instanceof BoardUnavailable ? error.message : 'Something went wrong. Please try again.' }
  }
  if (error instanceof HTTPException && error.status < 500) {
    // Hono's csrf middleware is the one that refuses with 403 here.
    const message = error.status === 403 ? 'This form was sent from another site, so it was refused.' : 'The request was refused.'
    return { status: error.status as ContentfulStatusCode, message }
  }
  logger.error({ err: error, method: c.req.method, path: c.req.path }, 'page failed: unexpected error')
  return { status: 500, message: 'Something went wrong. Please try again.' }
}

/** After logging in: the page asked for, or for a form, the page it was on (a POST cannot be repeated by a redirect). */
function comeBackTo(c: Context): string {
  if (c.req.method === 'GET') {
    const url = new URL(c.req.url)
    return url.pathname + url.search
  }
  const referer = c.req.header('Referer')
  if (!referer) return '/'
  try {
    const from = new URL(referer)
    return from.origin === new URL(c.req.url).origin ? from.pathname + from.search : '/'
  } catch {
    return '/'
  }
}
