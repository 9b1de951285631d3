import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { OperatorDisabled, OperatorUnauthorized } from './console-errors'

/** Shorter credentials are refused at start: a console action can rebuild a read model. */
export const MIN_OPERATOR_TOKEN_LENGTH = 16

export class WeakOperatorToken extends Error {
  constructor() {
    super(`TIDINGS_OPERATOR_TOKEN must be at least ${MIN_OPERATOR_TOKEN_LENGTH} characters`)
  }
}

/**
 * Guards console actions with the operator token from the environment: without one configured, actions
 * are disabled (403); a missing or wrong token is 401. Compared as hashes in constant time, so neither the
 * length nor a prefix leaks through timing.
 */
export function requireOperator(operatorToken: string | undefined): MiddlewareHandler {
  if (operatorToken !== undefined && operatorToken.length < MIN_OPERATOR_TOKEN_LENGTH) throw new WeakOperatorToken()
  const expected = operatorToken === undefined ? undefined : digest(operatorToken)
  return async (c, next) => {
    if (!expected) throw new OperatorDisabled()
    const presented = /^Bearer (.+)$/.exec(c.req.header('Authorization') ?? '')?.[1]
    if (!presented || !timingSafeEqual(digest(presented), expected)) throw new OperatorUnauthorized()
    await next()
  }
}

const digest = (token: string): Buffer => createHash('sha256').update(token).digest()
