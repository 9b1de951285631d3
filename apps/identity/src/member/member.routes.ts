import { Hono } from 'hono'
import * as z from 'zod'
import { uuidv7, type Clock } from '@tidings/core'
import { stateRoutes, userText, uuid, validBody, validParams, withPosition } from '@tidings/http'
import { type Database, execute, type UnitOfWork } from '@tidings/postgres'
import { requireMember, requireOperator, ROLES, type MemberEnv, type Role, type TokenVerifier } from '@tidings/auth'
import { hashPassword, verifyPassword } from './password'
import { changeNickname, emailKey, EmailTaken, InvalidCredentials, join, MemberNotFound, nicknameKey, NicknameTaken, setRoles, type Member } from './member'
import { memberStatePath, memberStatesPath, type MemberState } from './member.contracts'
import type { MemberRepository } from './member.repository'

const Nickname = userText(2, 20).refine((s) => /^[\p{L}\p{N}_.-]+$/u.test(s), 'letters, digits, _, . or - only')
const Email = z.string().max(254).pipe(z.email())
/** 8 to 128 characters, at least 8 of them not spaces (eight spaces is no password). */
const Password = z.string().min(8).max(128).refine((s) => s.replace(/\s/g, '').length >= 8, 'must have at least 8 characters that are not spaces')
const RolesBody = z.object({ roles: z.array(z.enum(ROLES)).max(ROLES.length) })
const SignUpBody = z.object({ email: Email, password: Password, nickname: Nickname })
// No stored email holds a NUL, and PostgreSQL cannot even take one as a query parameter (it would be a 500).
const LoginBody = z.object({ email: z.string().max(254).refine((s) => !s.includes('\u0000'), 'must not contain NUL'), password: z.string().max(128) })

/** Compared against when the email is unknown, so that a login takes as long whether or not the member exists. */
const NO_MEMBER_HASH = hashPassword('no such member')

/** Tokens as the member routes use them: issued at log-in, checked on the member's own routes. */
export interface MemberTokens {
  issue(memberId: string, options: { roles: readonly Role[] }): Promise<{ token: string; expiresAt: string }>
  verify: TokenVerifier
  /** Whether a bearer token is the deployment's operator secret (`TIDINGS_OPERATOR_TOKEN`); none without one. */
  operatorSecret?: ((presented: string | undefined) => boolean) | undefined
}

export interface MemberRoutesDeps {
  db: Database
  uow: UnitOfWork
  members: MemberRepository
  tokens: MemberTokens
  clock: Clock
}

export function memberRoutes({ db, uow, members, tokens, clock }: MemberRoutesDeps): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()
  const signedIn = requireMember(tokens.verify)

  routes.post('/api/members', validBody(SignUpBody), async (c) => {
    const input = c.req.valid('json')
    if (await members.byEmail(db, emailKey(input.email))) throw new EmailTaken()
    if (await members.nicknameTaken(db, input.nickname)) throw new NicknameTaken(input.nickname)
    const passwordHash = await hashPassword(input.password)
    const { result, token } = await execute(uow, members, async () => join({ ...input, memberId: uuidv7(), passwordHash, now: clock.now() }))
    withPosition(c, token)
    return c.json(publicView(result), 201)
  })

  routes.post('/api/auth/login', validBody(LoginBody), async (c) => {
    const { email, password } = c.req.valid('json')
    const member = await members.byEmail(db, emailKey(email))
    const valid = await verifyPassword(password, member?.passwordHash ?? (await NO_MEMBER_HASH))
    if (!member || !valid) throw new InvalidCredentials()
    return c.json(await tokens.issue(member.memberId, { roles: member.roles }))
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
      const member = await members.byId(tx, memberId, { lock: true })
      if (!member) throw new MemberNotFound(memberId)
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

  return routes
}

function publicView(member: Member) {
  return { memberId: member.memberId, email: member.email, nickname: member.nickname, roles: member.roles }
}

export function stateOf(member: Member): MemberState {
  return { memberId: member.memberId, nickname: member.nickname, version: member.version }
}
