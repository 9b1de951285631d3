import type { PostLookup } from '../post/post.contracts'
import type { TokenVerifier } from '@tidings/auth'
import { COMMENT_SOURCE, type CommentLookup, type CommentsLookup } from './comment.contracts'
import { CommentRepository, commentMigrations } from './comment.repository'
import { commentRoutes, stateOf } from './comment.routes'
import { openProducer, type ServiceContext } from '@tidings/http'
import type { BoardService } from '../shared/board-service'

export const COMMENT_SCHEMA = 'board_comment'

/** Comments on live posts; produces the `board.comment` feed and answers comment lookups. */
export async function commentService(ctx: ServiceContext, verify: TokenVerifier, posts: PostLookup): Promise<BoardService & { lookup: CommentLookup; lookupMany: CommentsLookup }> {
  const { uow, feed } = await openProducer(ctx, COMMENT_SCHEMA, COMMENT_SOURCE, commentMigrations)
  const comments = new CommentRepository(COMMENT_SCHEMA)
  return {
    name: COMMENT_SOURCE,
    routes: commentRoutes({ db: ctx.db, uow, comments, posts, verify, clock: ctx.clock }),
    feeds: { [COMMENT_SOURCE]: feed },
    subscriptions: [],
    producerSchemas: [COMMENT_SCHEMA],
    consumerSchemas: [],
    lookupMany: async (commentIds, via) => (await comments.byIds(via ?? ctx.db, commentIds)).map(stateOf),
    lookup: async (commentId, via) => {
      const comment = await comments.byId(via ?? ctx.db, commentId)
      return comment && stateOf(comment)
    },
  }
}
