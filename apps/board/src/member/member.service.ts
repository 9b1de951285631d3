import type { MemberTokens } from '../shared/member-tokens'
import { openProducer, type Service, type ServiceContext } from '../shared/service'
import { MEMBER_SOURCE, type MemberLookup } from './member.contracts'
import { MemberRepository, memberMigrations } from './member.repository'
import { memberRoutes, stateOf } from './member.routes'

export const MEMBER_SCHEMA = 'board_member'

/** Sign-up, log-in and nicknames; produces the `board.member` feed. */
export async function memberService(ctx: ServiceContext, tokens: MemberTokens): Promise<Service & { lookup: MemberLookup }> {
  const { uow, feed } = await openProducer(ctx, MEMBER_SCHEMA, MEMBER_SOURCE, memberMigrations)
  const members = new MemberRepository(MEMBER_SCHEMA)
  return {
    name: MEMBER_SOURCE,
    routes: memberRoutes({ db: ctx.db, uow, members, tokens, clock: ctx.clock }),
    feeds: { [MEMBER_SOURCE]: feed },
    subscriptions: [],
    producerSchemas: [MEMBER_SCHEMA],
    consumerSchemas: [],
    lookup: async (memberId, via) => {
      const member = await members.byId(via ?? ctx.db, memberId)
      return member && stateOf(member)
    },
  }
}
