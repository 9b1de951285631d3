import { DEFAULT_LIVE_MEMBER_TTL_MS, JWKS_PATH, liveMemberVerifier, remoteKeys, tokenVerifier, type LiveTokenVerifier } from '@tidings/auth'
import { HttpFeedReader, serviceHeaders, serviceUrl, type ServiceContext, type ServiceOpeners } from '@tidings/http'
import { identityService, type IdentityOptions } from './identity.service'
import { abuseLimitsFromEnv } from './limits/abuse-limits'
import { MEMBER_SOURCE, memberLookupOverHttp, membersLookupOverHttp, memberTokensLookupOverHttp, type MemberLookup, type MembersLookup } from './member/member.contracts'

/** Where the other services of a deployment find the identity service. */
export const IDENTITY_URL = 'IDENTITY_URL'

/** How long a process remembers a member's token version (ms; default 5000): a sign-out or password change reaches it within that. */
export const MEMBER_CHECK_TTL_MS = 'TIDINGS_MEMBER_CHECK_TTL_MS'

export const identityProcesses: ServiceOpeners = {
  [MEMBER_SOURCE]: (ctx, env) => identityService(ctx, { operatorToken: env.TIDINGS_OPERATOR_TOKEN || undefined, ...identityOptionsFromEnv(env) }),
}

/**
 * What the environment says of the identity service: its abuse limits (`abuseLimitsFromEnv`: the defaults
 * unless `TIDINGS_LOGIN_*`, `TIDINGS_SIGNUPS_*` or `TIDINGS_TRUST_PROXY` say otherwise) and how
 * long its verifier remembers a member's token version (`TIDINGS_MEMBER_CHECK_TTL_MS`).
 */
export function identityOptionsFromEnv(env: NodeJS.ProcessEnv): Pick<IdentityOptions, 'limits' | 'memberCheckTtlMs'> {
  return { limits: abuseLimitsFromEnv(env), memberCheckTtlMs: memberCheckTtlMs(env) }
}

/** The identity service as a service in another process reaches it (at `IDENTITY_URL`): its public keys, its members, its feed. */
export interface RemoteIdentity {
  /** Signatures checked with the published keys; the member's token version asked for over HTTP, remembered for `TIDINGS_MEMBER_CHECK_TTL_MS`. */
  verify: LiveTokenVerifier
  lookup: MemberLookup
  lookupMany: MembersLookup
  feed: HttpFeedReader
}

export function remoteIdentity(ctx: ServiceContext, env: NodeJS.ProcessEnv): RemoteIdentity {
  const url = serviceUrl(env, IDENTITY_URL)
  return {
    verify: liveMemberVerifier(tokenVerifier(remoteKeys(`${url}${JWKS_PATH}`)), memberTokensLookupOverHttp(url, ctx.serviceCredential), { ttlMs: memberCheckTtlMs(env) }),
    lookup: memberLookupOverHttp(url, ctx.serviceCredential),
    lookupMany: membersLookupOverHttp(url, ctx.serviceCredential),
    feed: new HttpFeedReader({ baseUrl: url, source: MEMBER_SOURCE, headers: serviceHeaders(ctx.serviceCredential) }),
  }
}

function memberCheckTtlMs(env: NodeJS.ProcessEnv): number {
  const value = env[MEMBER_CHECK_TTL_MS]
  if (value === undefined || value === '') return DEFAULT_LIVE_MEMBER_TTL_MS
  if (!/^\d{1,9}$/.test(value)) throw new Error(`${MEMBER_CHECK_TTL_MS} is a number of milliseconds, not ${JSON.stringify(value)}`)
  return Number(value)
}
