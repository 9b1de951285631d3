// Tokens: what the identity service issues and every other service checks.
export { JWKS_PATH, MAX_TOKEN_LENGTH, ROLES, TOKEN_ALGORITHM, TOKEN_ISSUER } from './member-token'
export { signMemberToken } from './member-token'
export type { MemberClaims, Role, SigningKey, TokenRequest } from './member-token'
export { remoteKeys, tokenVerifier } from './token-verifier'
export type { KeySource, TokenVerifier } from './token-verifier'
// Tokens the identity service still stands behind: their member exists and has not revoked them.
export { DEFAULT_LIVE_MEMBER_TTL_MS, liveMemberVerifier } from './live-member-verifier'
export type { LiveMemberOptions, LiveTokenVerifier, MemberTokenState, MemberTokenStateLookup } from './live-member-verifier'

// The edge: routes that answer only a signed-in member, or one with a role.
export { holdsRole, requireMember, requireOperator, requireRole } from './require-member'
export { MIN_SECRET_LENGTH, secretMatcher } from './deployment-secret'
export type { MemberEnv, PresentedToken, RequireMemberOptions } from './require-member'

// The ways authentication fails.
export { IdentityUnavailable, InvalidToken, MissingToken, RoleRequired, TokenExpired, TokenRevoked } from './auth-errors'
