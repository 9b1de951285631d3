import { remoteIdentity } from '@tidings/identity'
import { HttpFeedReader, serviceHeaders, serviceUrl, type ServiceContext, type ServiceOpeners } from '@tidings/http'
import { BOARD_QUERY_SERVICE, boardQueryService, POST_DOCUMENTS_COLLECTION } from './board-query/board-query.service'
import { COMMENT_SOURCE, commentLookupOverHttp, commentsLookupOverHttp } from './comment/comment.contracts'
import { commentService } from './comment/comment.service'
import { NOTIFICATION_SERVICE, notificationService } from './notification/notification.service'
import { POST_SOURCE, postLookupOverHttp, postsLookupOverHttp } from './post/post.contracts'
import { postService } from './post/post.service'
import type { StoredPostDocument } from './board-query/post-document'

/** Where a board service running alone finds the others: e.g. `BOARD_POST_URL=http://127.0.0.1:3002`. */
export const BOARD_POST_URL = 'BOARD_POST_URL'
export const BOARD_COMMENT_URL = 'BOARD_COMMENT_URL'

/**
 * The board's services, each as a process of its own: members and tokens come from the identity service
 * (`IDENTITY_URL`), the other services' feeds and latest state over HTTP (`BOARD_POST_URL`,
 * `BOARD_COMMENT_URL`) — or their events through the broker when the process has one.
 */
export const boardProcesses: ServiceOpeners = {
  [POST_SOURCE]: (ctx, env) => postService(ctx, remoteIdentity(ctx, env).verify),
  [COMMENT_SOURCE]: (ctx, env) => commentService(ctx, remoteIdentity(ctx, env).verify, postLookupOverHttp(serviceUrl(env, BOARD_POST_URL), ctx.serviceCredential)),
  [BOARD_QUERY_SERVICE]: async (ctx, env, resources) => {
    const { sources, feeds } = readSide(ctx, env)
    const evictions = await resources.evictions()
    const documents = await resources.documents<StoredPostDocument>(POST_DOCUMENTS_COLLECTION)
    return boardQueryService(ctx, [feeds.members, feeds.posts, feeds.comments], sources, { ...(evictions ? { evictions } : {}), ...(documents ? { documents } : {}) })
  },
  [NOTIFICATION_SERVICE]: (ctx, env) => {
    const { sources, feeds, verify } = readSide(ctx, env)
    return notificationService(ctx, verify, feeds.comments, sources)
  },
}

/** What the read sides follow and fetch, across processes. */
function readSide(ctx: ServiceContext, env: NodeJS.ProcessEnv) {
  const credential = ctx.serviceCredential
  const identity = remoteIdentity(ctx, env)
  const posts = serviceUrl(env, BOARD_POST_URL)
  const comments = serviceUrl(env, BOARD_COMMENT_URL)
  return {
    verify: identity.verify,
    feeds: {
      members: identity.feed,
      posts: new HttpFeedReader({ baseUrl: posts, source: POST_SOURCE, headers: serviceHeaders(credential) }),
      comments: new HttpFeedReader({ baseUrl: comments, source: COMMENT_SOURCE, headers: serviceHeaders(credential) }),
    },
    sources: {
      members: identity.lookup,
      membersMany: identity.lookupMany,
      posts: postLookupOverHttp(posts, credential),
      postsMany: postsLookupOverHttp(posts, credential),
      comments: commentLookupOverHttp(comments, credential),
      commentsMany: commentsLookupOverHttp(comments, credential),
    },
  }
}
