import { uuidv7 } from '@tidings/core'
import { secretMatcher, signMemberToken, tokenVerifier, type MemberEnv, type Role, type TokenVerifier } from '@tidings/auth'
import { openProducer, type Service, type ServiceContext } from '@tidings/http'
import { migrate } from '@tidings/postgres'
import { jwksRoutes } from './keys/jwks.routes'
import { DEFAULT_ROTATION, type RotationPolicy } from './keys/rotation'
import { signingKeyMigrations } from './keys/signing-key.repository'
import { SigningKeys } from './keys/signing-keys'
import { MEMBER_SOURCE, type MemberLookup, type MembersLookup } from './member/member.contracts'
import { MemberRepository, memberMigrations } from './member/member.repository'
import { memberRoutes, stateOf } from './member/member.routes'

export const IDENTITY_SCHEMA = 'identity_member'

export interface IdentityOptions {
  /** How long a token lives (default an hour). */
  tokenTtlSeconds?: number
  rotation?: Partial<Omit<RotationPolicy, 'tokenTtlMs'>>
  /** The deployment's operator secret (`TIDINGS_OPERATOR_TOKEN`): it may grant roles, so the first operator can be made. */
  operatorToken?: string | undefined
}

export type IdentityService = Service<MemberEnv> & {
  lookup: MemberLookup
  lookupMany: MembersLookup
  /** Checks tokens in this process with the public keys; other processes use `remoteKeys(IDENTITY_URL + JWKS_PATH)`. */
  verifier: TokenVerifier
  /** Mints a member's token, as log-in does (`now` back-dated in tests of expiry); never handed to another service. */
  issue(memberId: string, options?: { now?: Date; roles?: readonly Role[] }): Promise<{ token: string; expiresAt: string }>
}

/**
 * One identity for every app: sign-up, log-in and nicknames (the `identity.member` feed), and the signing
 * keys. Only this service holds private keys; it publishes the public ones at `JWKS_PATH`.
 */
export async function identityService(ctx: ServiceContext, options: IdentityOptions = {}): Promise<IdentityService> {
  const { db, clock } = ctx
  const ttlSeconds = options.tokenTtlSeconds ?? 3600
  const { uow, feed } = await openProducer(ctx, IDENTITY_SCHEMA, MEMBER_SOURCE, memberMigrations)
  await migrate(db, IDENTITY_SCHEMA, 'identity.keys', signingKeyMigrations)
  const keys = new SigningKeys(db, IDENTITY_SCHEMA, clock, { ...DEFAULT_ROTATION, ...options.rotation, tokenTtlMs: ttlSeconds * 1000 })
  await keys.reload()
  const verifier = tokenVerifier(keys.keySource, { clock })
  const issue: IdentityService['issue'] = async (memberId, { now = clock.now(), roles = [] } = {}) =>
    signMemberToken(await keys.signer(), { memberId, roles, tokenId: uuidv7(), now, ttlSeconds })
  const tokens = { issue, verify: verifier, operatorSecret: secretMatcher(options.operatorToken, 'TIDINGS_OPERATOR_TOKEN') }
  const members = new MemberRepository(IDENTITY_SCHEMA)
  const routes = memberRoutes({ db, uow, members, tokens, clock }).route('/', jwksRoutes(keys))
  return {
    name: MEMBER_SOURCE,
    routes,
    feeds: { [MEMBER_SOURCE]: feed },
    subscriptions: [],
    producerSchemas: [IDENTITY_SCHEMA],
    consumerSchemas: [],
    verifier,
    issue,
    lookupMany: async (memberIds, via) => (await members.byIds(via ?? db, memberIds)).map(stateOf),
    lookup: async (memberId, via) => {
      const member = await members.byId(via ?? db, memberId)
      return member && stateOf(member)
    },
  }
}
