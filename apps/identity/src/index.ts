// The service: members, log-in, signing keys.
export { IDENTITY_SCHEMA, identityService } from './identity.service'
export type { IdentityOptions, IdentityService } from './identity.service'

// What other services may know of it: its feed, its events, a member's public state and how to fetch it.
export { MEMBER_SOURCE, MemberState, memberLookupOverHttp, membersLookupOverHttp, memberStatePath, memberStatesPath } from './member/member.contracts'
export type { MemberEvent, MemberJoined, MemberLookup, MemberNicknameChanged, MembersLookup } from './member/member.contracts'
// Whether a member still stands behind a token (their token version), for services in other processes.
export { MemberTokenState, memberTokensLookupOverHttp, memberTokensPath } from './member/member.contracts'

// Abuse limits on sign-up and log-in, as hosts configure them.
export { ABUSE_LIMIT_VARIABLES, abuseLimitsFromEnv, DEFAULT_ABUSE_LIMITS, TRUST_PROXY } from './limits/abuse-limits'
export type { AbuseLimits } from './limits/abuse-limits'
export type { Rate } from './limits/attempt-limiter'

// As processes of their own, and as other processes reach it.
export { IDENTITY_URL, identityOptionsFromEnv, identityProcesses, MEMBER_CHECK_TTL_MS, remoteIdentity } from './identity.processes'
export type { RemoteIdentity } from './identity.processes'
export { identityGatewayRoutes } from './identity.gateway-routes'
