import * as z from 'zod'
import { httpStateLookup, httpStatesLookup, serviceHeaders } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'
import type { MemberTokenStateLookup } from '@tidings/auth'

/** What other services may know of the member service: its feed, its events and a member's public state. */
export const MEMBER_SOURCE = 'identity.member'
export type { MemberEvent, MemberJoined, MemberNicknameChanged, MemberRolesChanged } from './member'

export const MemberState = z.object({ memberId: z.string(), nickname: z.string(), version: z.number().int() })
export type MemberState = z.infer<typeof MemberState>

/** The latest public state of a member, or undefined when there is none. In process,
 * it runs in the caller's transaction when given one (`via`); across processes it is an HTTP call. */
export type MemberLookup = (memberId: string, via?: Queryable) => Promise<MemberState | undefined>

/** Many members at once (in process, in the caller's transaction); the ones that exist, in any order. */
export type MembersLookup = (memberIds: readonly string[], via?: Queryable) => Promise<MemberState[]>

export const memberStatePath = (memberId: string): string => `/internal/members/${memberId}`

/** Many members' public state: `?ids=a,b,c` answers `{ items: [...] }`. */
export const memberStatesPath = '/internal/members'

export function memberLookupOverHttp(baseUrl: string, serviceCredential: string): MemberLookup {
  return httpStateLookup({ baseUrl, path: memberStatePath, parse: (body) => MemberState.parse(body), headers: serviceHeaders(serviceCredential) })
}

export function membersLookupOverHttp(baseUrl: string, serviceCredential: string): MembersLookup {
  return httpStatesLookup({ baseUrl, path: memberStatesPath, parse: (item) => MemberState.parse(item), headers: serviceHeaders(serviceCredential) })
}

/** A member's token version, for the services that check tokens (`liveMemberVerifier`): internal, like the state. */
export const MemberTokenState = z.object({ memberId: z.string(), tokenVersion: z.number().int().min(0) })
export type MemberTokenState = z.infer<typeof MemberTokenState>

export const memberTokensPath = (memberId: string): string => `/internal/members/${memberId}/tokens`

/** How a service in another process asks whether a token's member exists and which tokens it stands behind. */
export function memberTokensLookupOverHttp(baseUrl: string, serviceCredential: string): MemberTokenStateLookup {
  return httpStateLookup({ baseUrl, path: memberTokensPath, parse: (body) => MemberTokenState.parse(body), headers: serviceHeaders(serviceCredential) })
}
