import type { MiddlewareHandler } from 'hono'
import { MIN_SECRET_LENGTH, secretMatcher } from '@tidings/auth'
import { OperatorDisabled, OperatorUnauthorized } from './console-errors'

/** Shorter credentials are refused at start: a console action can rebuild a read model. */
export const MIN_OPERATOR_TOKEN_LENGTH = MIN_SECRET_LENGTH

export class WeakOperatorToken extends Error {
  constructor() {
    super(`TIDINGS_OPERATOR_TOKEN must be at least ${MIN_OPERATOR_TOKEN_LENGTH} characters`)
  }
}

/**
 * Guards console actions with the operator token from the environment: without one configured, actions
 * are disabled (403); a missing or wrong token is 401.
 */
export function requireOperatorToken(operatorToken: string | undefined): MiddlewareHandler {
  if (operatorToken !== undefined && operatorToken.length < MIN_OPERATOR_TOKEN_LENGTH) throw new WeakOperatorToken()
  const matches = secretMatcher(operatorToken, 'TIDINGS_OPERATOR_TOKEN')
  return async (c, next) => {
    if (!matches) throw new OperatorDisabled()
    if (!matches(/^Bearer (.+)$/.exec(c.req.header('Authorization') ?? '')?.[1])) throw new OperatorUnauthorized()
    await next()
  }
}
