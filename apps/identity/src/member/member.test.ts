import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { changePassword, changeNickname, join, revokeTokens, setRoles, type Member } from './member'

const now = new Date('2026-11-30T10:00:00.000Z')
const ann: Member = { memberId: 'm1', email: 'ann@example.com', nickname: 'ann', passwordHash: 'h', joinedAt: now.toISOString(), roles: [], version: 1, tokenVersion: 0 }

describe('member decisions', () => {
  it('joining keeps the email in lower case and records a zero-payload MemberJoined', () =>
    given({ memberId: 'm1', email: 'Ann@Example.COM', nickname: 'ann', passwordHash: 'h', now }).when(join).thenExpect(({ state, events }) => {
      expect(state).toEqual(ann)
      expect(events).toEqual([{ type: 'identity.MemberJoined.v1', key: 'm1', version: 1, data: { memberId: 'm1', version: 1 } }])
    }))

  it('a new nickname is a new version', () =>
    given(ann).when((m) => changeNickname(m, 'annie')).thenExpect(({ state, events }) => {
      expect(state).toEqual({ ...ann, nickname: 'annie', version: 2 })
      expect(events).toEqual([{ type: 'identity.MemberNicknameChanged.v1', key: 'm1', version: 2, data: { memberId: 'm1', version: 2 } }])
    }))

  it('the same nickname again changes nothing and records nothing', () =>
    given(ann).when((m) => changeNickname(m, 'ann')).thenExpect(({ state, events }) => {
      expect(state).toBe(ann)
      expect(events).toEqual([])
    }))

  it('roles are set whole, in one order, each once, as a new version', () =>
    given(ann).when((m) => setRoles(m, ['operator', 'staff', 'operator'])).thenExpect(({ state, events }) => {
      expect(state).toEqual({ ...ann, roles: ['staff', 'operator'], version: 2 })
      expect(events).toEqual([{ type: 'identity.MemberRolesChanged.v1', key: 'm1', version: 2, data: { memberId: 'm1', version: 2 } }])
    }))

  it('the same roles again change nothing; none at all takes them away', () => {
    const staff: Member = { ...ann, roles: ['staff'] }
    given(staff).when((m) => setRoles(m, ['staff'])).thenExpect(({ events }) => expect(events).toEqual([]))
    given(staff).when((m) => setRoles(m, [])).thenExpect(({ state }) => expect(state.roles).toEqual([]))
  })

  it('signing out raises the token version, and is no event of the public state', () =>
    given(ann).when(revokeTokens).thenExpect(({ state, events }) => {
      expect(state).toEqual({ ...ann, tokenVersion: 1 })
      expect(events).toEqual([])
    }))

  it('a new password replaces the hash and raises the token version, with no event', () =>
    given({ ...ann, tokenVersion: 3 }).when((m) => changePassword(m, 'h2')).thenExpect(({ state, events }) => {
      expect(state).toEqual({ ...ann, passwordHash: 'h2', tokenVersion: 4 })
      expect(events).toEqual([])
    }))
})
