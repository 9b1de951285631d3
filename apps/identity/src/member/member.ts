import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'
import { ROLES, type Role } from '@tidings/auth'

/** A member: one account for every app (board, orders, concert). Pure: ids, time and the password hash come in from the edge. */
export interface Member {
  memberId: string
  email: string
  nickname: string
  passwordHash: string
  joinedAt: string
  /** Granted by an operator; in the member's tokens from their next log-in. */
  roles: Role[]
  /** The public state's version (nickname, roles): the member's events carry it. */
  version: number
  /**
   * In every token issued (`tv`); raised by signing out and by a password change, which refuses every token
   * issued before. Private to this service (no event: nobody follows it, services ask for it live).
   */
  tokenVersion: number
}

export type MemberJoined = Event<'identity.MemberJoined.v1', { memberId: string; version: number }>
export type MemberNicknameChanged = Event<'identity.MemberNicknameChanged.v1', { memberId: string; version: number }>
export type MemberRolesChanged = Event<'identity.MemberRolesChanged.v1', { memberId: string; version: number }>
export type MemberEvent = MemberJoined | MemberNicknameChanged | MemberRolesChanged

export class EmailTaken extends TidingsError {
  constructor() {
    super('EMAIL_TAKEN', 'conflict', 'This email address is already registered')
  }
}

export class NicknameTaken extends TidingsError {
  constructor(nickname: string) {
    super('NICKNAME_TAKEN', 'conflict', `The nickname "${nickname}" is taken`)
  }
}

export class InvalidCredentials extends TidingsError {
  constructor() {
    super('INVALID_CREDENTIALS', 'unauthorized', 'Email or password is wrong')
  }
}

/** A signed-in member's password check failed (a password change): not 401, since their token is good. */
export class WrongPassword extends TidingsError {
  constructor() {
    super('WRONG_PASSWORD', 'forbidden', 'The current password is wrong')
  }
}

export class MemberNotFound extends TidingsError {
  constructor(memberId: string) {
    super('MEMBER_NOT_FOUND', 'not_found', `No member ${memberId}`)
  }
}

/** Emails compare case-insensitively; nicknames compare without case too, so "Ann" and "ann" are one name. */
export const emailKey = (email: string): string => email.toLowerCase()
export const nicknameKey = (nickname: string): string => nickname.toLowerCase()

export function join(input: { memberId: string; email: string; nickname: string; passwordHash: string; now: Date }): Decision<Member, MemberJoined> {
  const member: Member = {
    memberId: input.memberId,
    email: emailKey(input.email),
    nickname: input.nickname,
    passwordHash: input.passwordHash,
    joinedAt: input.now.toISOString(),
    roles: [],
    version: 1,
    tokenVersion: 0,
  }
  return decide(member, event<MemberJoined>('identity.MemberJoined.v1', member.memberId, { memberId: member.memberId, version: 1 }))
}

export function changeNickname(member: Member, nickname: string): Decision<Member, MemberNicknameChanged> {
  if (member.nickname === nickname) return decide(member)
  const next = { ...member, nickname, version: member.version + 1 }
  return decide(next, event<MemberNicknameChanged>('identity.MemberNicknameChanged.v1', member.memberId, { memberId: member.memberId, version: next.version }))
}

/** Gives a member exactly `roles` (in one order, each once); the same roles again change nothing. */
export function setRoles(member: Member, roles: readonly Role[]): Decision<Member, MemberRolesChanged> {
  const next = ROLES.filter((role) => roles.includes(role))
  if (next.join() === member.roles.join()) return decide(member)
  const changed = { ...member, roles: next, version: member.version + 1 }
  return decide(changed, event<MemberRolesChanged>('identity.MemberRolesChanged.v1', member.memberId, { memberId: member.memberId, version: changed.version }))
}

/** Signs the member out everywhere: every token issued so far is refused from now on. */
export function revokeTokens(member: Member): Decision<Member, never> {
  return decide({ ...member, tokenVersion: member.tokenVersion + 1 })
}

/** A new password (its hash, made at the edge); the tokens issued under the old one are refused from now on. */
/**
 * The same password, hashed again at today's cost (see `needsRehash`): nothing else changes, no token is
 * revoked. Only if the stored hash is still the one just verified: a password changed meanwhile stays.
 */
export function rehashPassword(member: Member, verifiedHash: string, passwordHash: string): Decision<Member, never> {
  return decide(member.passwordHash === verifiedHash ? { ...member, passwordHash } : member)
}

export function changePassword(member: Member, passwordHash: string): Decision<Member, never> {
  return decide({ ...member, passwordHash, tokenVersion: member.tokenVersion + 1 })
}
