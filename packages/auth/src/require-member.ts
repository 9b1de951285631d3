import type { Context, MiddlewareHandler } from 'hono'
import { InvalidToken, MissingToken, RoleRequired } from './auth-errors'
import type { MemberClaims, Role } from './member-token'
import type { TokenVerifier } from './token-verifier'

/**
 * Routes behind `requireMember` read the signed-in member with `c.get('memberId')`, their roles with
 * `c.get('roles')`, and the token they came with as `c.get('token')`.
 */
export type MemberEnv = { Variables: { memberId: string; roles: readonly Role[]; token: PresentedToken } }

/** The request's token, for a route that outlives the moment it was checked (an event stream). */
export interface PresentedToken {
  /** Its `exp`: from then on it is refused. */
  expiresAt: Date
  /** Checks it again (expiry, revocation), throwing the verifier's error when it is no longer good. */
  verifyAgain(): Promise<MemberClaims>
}

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
    const claims = await verify(token)
    c.set('memberId', claims.sub)
    c.set('roles', claims.roles)
    c.set('token', { expiresAt: new Date(claims.exp * 1000), verifyAgain: () => verify(token) })
    await next()
  }
}

/**
 * Admits only a signed-in member holding one of `roles` (401 without a valid token, 403 `ROLE_REQUIRED`
 * without the role). The one place a route asks for a role.
 */
export function requireRole(verify: TokenVerifier, ...roles: [Role, ...Role[]]): MiddlewareHandler<MemberEnv> {
  const signedIn = requireMember(verify)
  return (c, next) =>
    signedIn(c, async () => {
      if (!holdsRole(c, ...roles)) throw new RoleRequired(roles)
      await next()
    })
}

/**
 * Admits an operator: a member with the `operator` role, or a request presenting the deployment's operator
 * secret as its bearer token (how the first operator is made: `TIDINGS_OPERATOR_TOKEN`). Behind it,
 * `memberId` is set only for a member.
 */
export function requireOperator(verify: TokenVerifier, operatorSecret: ((presented: string | undefined) => boolean) | undefined): MiddlewareHandler<MemberEnv> {
  const operatorMember = requireRole(verify, 'operator')
  return async (c, next) => {
    if (operatorSecret?.(bearerToken(c.req.header('Authorization')))) return next()
    return operatorMember(c, next)
  }
}

/** Whether the signed-in member (behind `requireMember`) holds one of `roles`: for "the owner or staff" checks. */
export function holdsRole(c: Context<MemberEnv>, ...roles: Role[]): boolean {
  return c.get('roles').some((role) => roles.includes(role))
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
