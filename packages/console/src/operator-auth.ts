import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { MIN_SECRET_LENGTH, secretMatcher } from '@tidings/auth'
import { OperatorDisabled, OperatorUnauthorized } from './console-errors'
import { operatorSessions, SESSION_COOKIE } from './operator-session'

/** Shorter credentials are refused at start: a console action can rebuild a read model. */
export const MIN_OPERATOR_TOKEN_LENGTH = MIN_SECRET_LENGTH

export class WeakOperatorToken extends Error {
  constructor() {
    super(`TIDINGS_OPERATOR_TOKEN must be at least ${MIN_OPERATOR_TOKEN_LENGTH} characters`)
  }
}

/** Who may see the console: nobody without a configured token; else the token's holder. */
export type OperatorAccess = 'disabled' | 'denied' | 'granted'

/**
 * The operator token from the environment guards the whole console: its data (page, overview, explorer,
 * live events) for a request with the token (`Authorization: Bearer …`) or a signed-in session cookie; its
 * actions for the token only, so that no other page can make a signed-in browser act (no cookie, no CSRF).
 */
export function operatorAuth(operatorToken: string | undefined) {
  if (operatorToken !== undefined && operatorToken.length < MIN_OPERATOR_TOKEN_LENGTH) throw new WeakOperatorToken()
  const matches = secretMatcher(operatorToken, 'TIDINGS_OPERATOR_TOKEN')
  const sessions = operatorToken === undefined ? undefined : operatorSessions(operatorToken)
  const bearer = (c: Context): string | undefined => /^Bearer (.+)$/.exec(c.req.header('Authorization') ?? '')?.[1]

  const access = (c: Context, options: { session: boolean }): OperatorAccess => {
    if (!matches || !sessions) return 'disabled'
    if (matches(bearer(c))) return 'granted'
    return options.session && sessions.isValid(getCookie(c, SESSION_COOKIE), Date.now()) ? 'granted' : 'denied'
  }
  const guard =
    (options: { session: boolean }): MiddlewareHandler =>
    async (c, next) => {
      const granted = access(c, options)
      if (granted === 'disabled') throw new OperatorDisabled()
      if (granted === 'denied') throw new OperatorUnauthorized()
      await next()
    }

  return {
    enabled: matches !== undefined,
    /** For the page: decides between the console, its sign-in form and the page that says how to enable it. */
    access: (c: Context) => access(c, { session: true }),
    /** The console's data: the token or a session. */
    viewer: guard({ session: true }),
    /** The console's actions: the token itself. */
    actor: guard({ session: false }),
    /** Checks a token typed into the sign-in form; a session for it, or undefined. */
    signIn: (token: string): string | undefined => (matches?.(token) && sessions ? sessions.issue(Date.now()) : undefined),
  }
}
