import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { every } from 'hono/combine'
import { csrf } from 'hono/csrf'
import { ErrorPage } from './error.page'
import { renderBare } from './web-request'

/** The host's limit too; repeated here so that the pages are safe when served on their own. */
const MAX_FORM_BYTES = 1024 * 1024

/**
 * In front of every form POST, never as a `*` middleware: the pages are mounted at `/` beside the API,
 * and a `*` there would run for the API's routes too (and turn its 400s for form bodies into 403s).
 * CSRF: a form posted from another origin is refused (Origin / Sec-Fetch-Site check); the cookies are
 * SameSite=Lax as a second line.
 */
export function formGuard(): MiddlewareHandler {
  return every(
    csrf(),
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) => {
        c.header('Connection', 'close')
        return renderBare(c, { title: 'Too large' }, <ErrorPage heading="Too large" message="That is more than the board accepts in one form." />, 413)
      },
    }),
  )
}
