import type { TokenVerifier } from '@tidings/auth'
import { POST_SOURCE, type PostLookup, type PostsLookup } from './post.contracts'
import { PostRepository, postMigrations } from './post.repository'
import { postRoutes, stateOf } from './post.routes'
import { openProducer, type ServiceContext } from '@tidings/http'
import type { BoardService } from '../shared/board-service'

export const POST_SCHEMA = 'board_post'

/** Writing, editing and deleting posts; produces the `board.post` feed and answers post lookups. */
export async function postService(ctx: ServiceContext, verify: TokenVerifier): Promise<BoardService & { lookup: PostLookup; lookupMany: PostsLookup }> {
  const { uow, feed } = await openProducer(ctx, POST_SCHEMA, POST_SOURCE, postMigrations)
  const posts = new PostRepository(POST_SCHEMA)
  return {
    name: POST_SOURCE,
    routes: postRoutes({ db: ctx.db, uow, posts, verify, clock: ctx.clock }),
    feeds: { [POST_SOURCE]: feed },
    subscriptions: [],
    producerSchemas: [POST_SCHEMA],
    consumerSchemas: [],
    lookupMany: async (postIds, via) => (await posts.byIds(via ?? ctx.db, postIds)).map(stateOf),
    lookup: async (postId, via) => {
      const post = await posts.byId(via ?? ctx.db, postId)
      return post && stateOf(post)
    },
  }
}
