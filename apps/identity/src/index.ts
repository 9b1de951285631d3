// The service: members, log-in, signing keys.
export { IDENTITY_SCHEMA, identityService } from './identity.service'
export type { IdentityOptions, IdentityService } from './identity.service'

// What other services may know of it: its feed, its events, a member's public state and how to fetch it.
export { MEMBER_SOURCE, MemberState, memberLookupOverHttp, membersLookupOverHttp, memberStatePath, memberStatesPath } from './member/member.contracts'
export type { MemberEvent, MemberJoined, MemberLookup, MemberNicknameChanged, MembersLookup } from './member/member.contracts'

// As processes of their own, and as other processes reach it.
export { IDENTITY_URL, identityProcesses, remoteIdentity } from './identity.processes'
export type { RemoteIdentity } from './identity.processes'
export { identityGatewayRoutes } from './identity.gateway-routes'
