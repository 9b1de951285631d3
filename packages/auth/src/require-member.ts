import type { Context, MiddlewareHandler } from 'hono'
import { InvalidToken, MissingToken } from './auth-errors'
import type { TokenVerifier } from './token-verifier'

/** Routes behind `requireMember` read the signed-in member with `c.get('memberId')`. */
export type MemberEnv = { Variables: { memberId: string } }

export interface RequireMemberOptions {
  /**
   * Also accept `?access_token=`, for the event stream only: a browser's EventSource cannot send headers.
   * Query strings end up in access logs and browser history, so nothing else should turn this on.
   */
  allowQueryToken?: boolean
}

/**
 * Admits a request only with a valid `Authorization: Bearer <token>` and records whose it is. The
 * verifier's errors propagate untouched so that the app's error handler renders them as 401 problems.
 */
export function requireMember(verify: TokenVerifier, options: RequireMemberOptions = {}): MiddlewareHandler<MemberEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('Authorization')) ?? (options.allowQueryToken ? queryToken(c) : undefined)
    if (token === undefined) throw new MissingToken()
    c.set('memberId', (await verify(token)).sub)
    await next()
  }
}

/**
 * The token of a `Bearer` header (scheme case-insensitive, RFC 7235); `undefined` when there is no header,
 * another scheme, or no token. More than one token after the scheme is a malformed credential.
 */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const [scheme = '', ...rest] = header.trim().split(/ +/)
  if (scheme.toLowerCase() !== 'bearer' || rest.length === 0) return undefined
  if (rest.length > 1 || /\s/.test(rest[0]!)) throw new InvalidToken()
  return rest[0]
}

function queryToken(c: Context): string | undefined {
  const values = c.req.queries('access_token') ?? []
  if (values.length > 1) throw new InvalidToken()
  return values[0] || undefined
}
