import { uuidv7 } from '@tidings/core'
import { liveMemberVerifier, secretMatcher, signMemberToken, tokenVerifier, type LiveTokenVerifier, type MemberEnv, type Role } from '@tidings/auth'
import { openProducer, type Service, type ServiceContext } from '@tidings/http'
import { migrate } from '@tidings/postgres'
import { jwksRoutes } from './keys/jwks.routes'
import { DEFAULT_ROTATION, type RotationPolicy } from './keys/rotation'
import { signingKeyMigrations } from './keys/signing-key.repository'
import { SigningKeys } from './keys/signing-keys'
import { MEMBER_SOURCE, type MemberLookup, type MembersLookup } from './member/member.contracts'
import { MemberRepository, memberMigrations } from './member/member.repository'
import { memberRoutes, stateOf } from './member/member.routes'
import type { AbuseLimits } from './limits/abuse-limits'
import { SignInLimits } from './limits/sign-in-limits'

export const IDENTITY_SCHEMA = 'identity_member'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface IdentityOptions {
  /** How long a token lives (default an hour). */
  tokenTtlSeconds?: number
  rotation?: Partial<Omit<RotationPolicy, 'tokenTtlMs'>>
  /** The deployment's operator secret (`TIDINGS_OPERATOR_TOKEN`): it may grant roles, so the first operator can be made. */
  operatorToken?: string | undefined
  /**
   * Limits on sign-up and password checks. None unless given: `npm start` and the service's own process give
   * `abuseLimitsFromEnv(env)` (the defaults, `DEFAULT_ABUSE_LIMITS`, unless the environment says otherwise).
   */
  limits?: AbuseLimits | undefined
  /** How long this process's verifier remembers a member's token version (default 5 s; `TIDINGS_MEMBER_CHECK_TTL_MS`). */
  memberCheckTtlMs?: number | undefined
}

export type IdentityService = Service<MemberEnv> & {
  lookup: MemberLookup
  lookupMany: MembersLookup
  /**
   * Checks tokens in this process with the public keys, and that their member stands behind them (exists,
   * has not signed out or changed password since); other processes use `remoteIdentity(ctx, env).verify`.
   */
  verifier: LiveTokenVerifier
  /**
   * Mints a member's token, as log-in does (`now` back-dated in tests of expiry), under the member's token
   * version now unless told one; never handed to another service.
   */
  issue(memberId: string, options?: { now?: Date; roles?: readonly Role[]; tokenVersion?: number }): Promise<{ token: string; expiresAt: string }>
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
  const members = new MemberRepository(IDENTITY_SCHEMA)
  const tokenStateOf = async (memberId: string) => (await members.tokenStates(db, [memberId]))[0]
  const verifier = liveMemberVerifier(tokenVerifier(keys.keySource, { clock }), tokenStateOf, { clock, ttlMs: options.memberCheckTtlMs })
  // Tests mint tokens for subjects that are no member id at all: those have no version to look up.
  const currentTokenVersion = async (memberId: string) => (UUID.test(memberId) ? (await tokenStateOf(memberId))?.tokenVersion : undefined) ?? 0
  const issue: IdentityService['issue'] = async (memberId, { now = clock.now(), roles = [], tokenVersion } = {}) =>
    signMemberToken(await keys.signer(), { memberId, roles, tokenId: uuidv7(), now, ttlSeconds, tokenVersion: tokenVersion ?? (await currentTokenVersion(memberId)) })
  const tokens = { issue, verify: verifier, revoked: verifier.forget, operatorSecret: secretMatcher(options.operatorToken, 'TIDINGS_OPERATOR_TOKEN') }
  const routes = memberRoutes({ db, uow, members, tokens, limits: new SignInLimits(options.limits), clock }).route('/', jwksRoutes(keys))
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
