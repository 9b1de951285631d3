import type { MemberTokens } from '../shared/member-tokens'
import { MEMBER_SOURCE, type MemberLookup, type MembersLookup } from './member.contracts'
import { MemberRepository, memberMigrations } from './member.repository'
import { memberRoutes, stateOf } from './member.routes'
import { openProducer, type ServiceContext } from '@tidings/http'
import type { BoardService } from '../shared/board-service'

export const MEMBER_SCHEMA = 'board_member'

/** Sign-up, log-in and nicknames; produces the `board.member` feed. */
export async function memberService(ctx: ServiceContext, tokens: MemberTokens): Promise<BoardService & { lookup: MemberLookup; lookupMany: MembersLookup }> {
  const { uow, feed } = await openProducer(ctx, MEMBER_SCHEMA, MEMBER_SOURCE, memberMigrations)
  const members = new MemberRepository(MEMBER_SCHEMA)
  return {
    name: MEMBER_SOURCE,
    routes: memberRoutes({ db: ctx.db, uow, members, tokens, clock: ctx.clock }),
    feeds: { [MEMBER_SOURCE]: feed },
    subscriptions: [],
    producerSchemas: [MEMBER_SCHEMA],
    consumerSchemas: [],
    lookupMany: async (memberIds, via) => (await members.byIds(via ?? ctx.db, memberIds)).map(stateOf),
    lookup: async (memberId, via) => {
      const member = await members.byId(via ?? ctx.db, memberId)
      return member && stateOf(member)
    },
  }
}
