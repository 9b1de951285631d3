import { JWKS_PATH, remoteKeys, tokenVerifier, type TokenVerifier } from '@tidings/auth'
import { HttpFeedReader, serviceHeaders, serviceUrl, type ServiceContext, type ServiceOpeners } from '@tidings/http'
import { identityService } from './identity.service'
import { MEMBER_SOURCE, memberLookupOverHttp, membersLookupOverHttp, type MemberLookup, type MembersLookup } from './member/member.contracts'

/** Where the other services of a deployment find the identity service. */
export const IDENTITY_URL = 'IDENTITY_URL'

export const identityProcesses: ServiceOpeners = {
  [MEMBER_SOURCE]: (ctx, env) => identityService(ctx, { operatorToken: env.TIDINGS_OPERATOR_TOKEN || undefined }),
}

/** The identity service as a service in another process reaches it (at `IDENTITY_URL`): its public keys, its members, its feed. */
export interface RemoteIdentity {
  verify: TokenVerifier
  lookup: MemberLookup
  lookupMany: MembersLookup
  feed: HttpFeedReader
}

export function remoteIdentity(ctx: ServiceContext, env: NodeJS.ProcessEnv): RemoteIdentity {
  const url = serviceUrl(env, IDENTITY_URL)
  return {
    verify: tokenVerifier(remoteKeys(`${url}${JWKS_PATH}`)),
    lookup: memberLookupOverHttp(url, ctx.serviceCredential),
    lookupMany: membersLookupOverHttp(url, ctx.serviceCredential),
    feed: new HttpFeedReader({ baseUrl: url, source: MEMBER_SOURCE, headers: serviceHeaders(ctx.serviceCredential) }),
  }
}
