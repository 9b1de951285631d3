import { Hono, type Context } from 'hono'
import * as z from 'zod'
import { uuidv7, type Clock } from '@tidings/core'
import { hasVisible, stateRoutes, userText, uuid, validBody, validParams, withPosition } from '@tidings/http'
import { type Database, execute, type Queryable, type UnitOfWork } from '@tidings/postgres'
import { requireMember, requireOperator, ROLES, type MemberEnv, type Role, type TokenVerifier } from '@tidings/auth'
import { clientAddress } from '../limits/client-address'
import { tooManyAttempts, type SignInLimits } from '../limits/sign-in-limits'
import { hashPassword, needsRehash, verifyPassword } from './password'
import {
  changeNickname,
  changePassword,
  rehashPassword,
  emailKey,
  EmailTaken,
  InvalidCredentials,
  join,
  MemberNotFound,
  nicknameKey,
  NicknameTaken,
  revokeTokens,
  setRoles,
  WrongPassword,
  type Member,
} from './member'
import { memberStatePath, memberStatesPath, memberTokensPath, type MemberState, type MemberTokenState } from './member.contracts'
import type { MemberRepository } from './member.repository'

const Nickname = userText(2, 20).refine((s) => /^[\p{L}\p{N}_.-]+$/u.test(s), 'letters, digits, _, . or - only')
const Email = z.string().max(254).pipe(z.email())
/** 8 to 128 characters, at least 8 of them visible (eight spaces, or eight zero-width spaces, is no password). */
const Password = z.string().min(8).max(128).refine((s) => hasVisible(s, 8), 'must have at least 8 characters that are not spaces or invisible')
const RolesBody = z.object({ roles: z.array(z.enum(ROLES)).max(ROLES.length) })
const SignUpBody = z.object({ email: Email, password: Password, nickname: Nickname })
// No stored email holds a NUL, and PostgreSQL cannot even take one as a query parameter (it would be a 500).
const LoginBody = z.object({ email: z.string().max(254).refine((s) => !s.includes('\u0000'), 'must not contain NUL'), password: z.string().max(128) })
const PasswordBody = z.object({ currentPassword: z.string().max(128), newPassword: Password })

/**
 * Compared against when the email is unknown, so that a login takes as long whether or not the member
 * exists. Made at the first such login, not when the module loads: a full-cost hash is 128 MiB and most
 * of a second, which no process that never sees a login should pay at start.
 */
let noMemberHash: Promise<string> | undefined
const unknownMemberHash = (): Promise<string> => (noMemberHash ??= hashPassword('no such member'))

/** Tokens as the member routes use them: issued at log-in, checked on the member's own routes. */
export interface MemberTokens {
  issue(memberId: string, options: { roles: readonly Role[]; tokenVersion: number }): Promise<{ token: string; expiresAt: string }>
  /** Checks a token, and that its member still stands behind it (`liveMemberVerifier`). */
  verify: TokenVerifier
  /** Told when a member's token version moved on, so that this process refuses the earlier tokens at once. */
  revoked(memberId: string): void
  /** Whether a bearer token is the deployment's operator secret (`TIDINGS_OPERATOR_TOKEN`); none without one. */
  operatorSecret?: ((presented: string | undefined) => boolean) | undefined
}

export interface MemberRoutesDeps {
  db: Database
  uow: UnitOfWork
  members: MemberRepository
  tokens: MemberTokens
  /** Sign-up and password checks per account and address (none unless configured). */
  limits: SignInLimits
  clock: Clock
}

export function memberRoutes({ db, uow, members, tokens, limits, clock }: MemberRoutesDeps): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const signedIn = requireMember(tokens.verify)
  const addressOf = (c: Context) => clientAddress(c, limits.trustedProxies)

  routes.post('/api/members', validBody(SignUpBody), async (c) => {
    const input = c.req.valid('json')
    const wait = limits.signUp(emailKey(input.email), addressOf(c), clock.now().getTime())
    if (wait !== undefined) return tooManyAttempts(wait)
    if (await members.byEmail(db, emailKey(input.email))) throw new EmailTaken()
    if (await members.nicknameTaken(db, input.nickname)) throw new NicknameTaken(input.nickname)
    const passwordHash = await hashPassword(input.password)
    const { result, token } = await execute(uow, members, async () => join({ ...input, memberId: uuidv7(), passwordHash, now: clock.now() }))
    withPosition(c, token)
    return c.json(publicView(result), 201)
  })

  // Counted before the password is checked, so that guesses sent at once are held like guesses in a row;
  // past a limit even the right password is refused (429), or the limit would answer guesses itself.
  routes.post('/api/auth/login', validBody(LoginBody), async (c) => {
    const { email, password } = c.req.valid('json')
    const admission = limits.passwordCheck(emailKey(email), addressOf(c), clock.now().getTime())
    if (!admission.admitted) return tooManyAttempts(admission.retryAfterSeconds)
    const member = await members.byEmail(db, emailKey(email))
    const valid = await verifyPassword(password, member?.passwordHash ?? (await unknownMemberHash()))
    if (!member || !valid) throw new InvalidCredentials()
    admission.succeeded()
    // A hash made at an older, cheaper cost is replaced while the password is at hand (once per member).
    if (needsRehash(member.passwordHash)) {
      const passwordHash = await hashPassword(password)
      await execute(uow, members, async (tx) => rehashPassword(await existing(tx, member.memberId, { lock: true }), member.passwordHash, passwordHash))
    }
    return c.json(await tokens.issue(member.memberId, { roles: member.roles, tokenVersion: member.tokenVersion }))
  })

  // Signs the member out everywhere: every token issued to them so far is refused from now on.
  routes.post('/api/auth/logout', signedIn, async (c) => {
    const memberId = c.get('memberId')
    await execute(uow, members, async (tx) => revokeTokens(await existing(tx, memberId, { lock: true })))
    tokens.revoked(memberId)
    return c.body(null, 204)
  })

  // The current password is checked (and counted like a log-in); the member's earlier tokens are refused
  // from now on, and the answer is a new one.
  routes.put('/api/members/me/password', signedIn, validBody(PasswordBody), async (c) => {
    const { currentPassword, newPassword } = c.req.valid('json')
    const memberId = c.get('memberId')
    const member = await existing(db, memberId)
    const admission = limits.passwordCheck(member.email, addressOf(c), clock.now().getTime())
    if (!admission.admitted) return tooManyAttempts(admission.retryAfterSeconds)
    if (!(await verifyPassword(currentPassword, member.passwordHash))) throw new WrongPassword()
    admission.succeeded()
    const passwordHash = await hashPassword(newPassword)
    const { result } = await execute(uow, members, async (tx) => changePassword(await existing(tx, memberId, { lock: true }), passwordHash))
    tokens.revoked(memberId)
    return c.json(await tokens.issue(memberId, { roles: result.roles, tokenVersion: result.tokenVersion }))
  })

  routes.get('/api/members/me', signedIn, async (c) => {
    const member = await members.byId(db, c.get('memberId'))
    if (!member) throw new MemberNotFound(c.get('memberId'))
    return c.json(publicView(member))
  })

  routes.patch('/api/members/me', signedIn, validBody(z.object({ nickname: Nickname })), async (c) => {
    const { nickname } = c.req.valid('json')
    const memberId = c.get('memberId')
    const { result, token } = await execute(uow, members, async (tx) => {
      const member = await existing(tx, memberId, { lock: true })
      if (nicknameKey(nickname) !== nicknameKey(member.nickname) && (await members.nicknameTaken(tx, nickname))) throw new NicknameTaken(nickname)
      return changeNickname(member, nickname)
    })
    withPosition(c, token)
    return c.json(publicView(result))
  })

  // An operator gives a member exactly these roles; they are in the member's tokens from the next log-in.
  routes.put('/api/members/:memberId/roles', requireOperator(tokens.verify, tokens.operatorSecret), validParams(z.object({ memberId: uuid })), validBody(RolesBody), async (c) => {
    const { memberId } = c.req.valid('param')
    const { result, token } = await execute(uow, members, async (tx) => {
      const member = await members.byId(tx, memberId, { lock: true })
      if (!member) throw new MemberNotFound(memberId)
      return setRoles(member, c.req.valid('json').roles)
    })
    withPosition(c, token)
    return c.json({ memberId, roles: result.roles })
  })

  routes.get('/api/members/nicknames/:nickname', validParams(z.object({ nickname: Nickname })), async (c) => {
    return c.json({ available: !(await members.nicknameTaken(db, c.req.valid('param').nickname)) })
  })

  routes.route(
    '/',
    stateRoutes({
      path: memberStatePath,
      batchPath: memberStatesPath,
      id: uuid,
      states: async (memberIds) => (await members.byIds(db, memberIds)).map(stateOf),
      notFound: (memberId) => new MemberNotFound(memberId),
    }),
  )

  // What services elsewhere check tokens against (`memberTokensLookupOverHttp`); behind the service credential.
  routes.get(memberTokensPath(':memberId'), validParams(z.object({ memberId: uuid })), async (c) => {
    const { memberId } = c.req.valid('param')
    const [state] = await members.tokenStates(db, [memberId])
    if (!state) throw new MemberNotFound(memberId)
    return c.json(state satisfies MemberTokenState)
  })

  async function existing(via: Queryable, memberId: string, options: { lock?: boolean } = {}): Promise<Member> {
    const member = await members.byId(via, memberId, options)
    if (!member) throw new MemberNotFound(memberId)
    return member
  }

  return routes
}

function publicView(member: Member) {
  return { memberId: member.memberId, email: member.email, nickname: member.nickname, roles: member.roles }
}

export function stateOf(member: Member): MemberState {
  return { memberId: member.memberId, nickname: member.nickname, version: member.version }
}
