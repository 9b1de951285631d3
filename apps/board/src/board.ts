import type { Clock, Logger } from '@tidings/core'
import type { Database } from '@tidings/postgres'
import { boardQueryService, type BoardQueryOptions } from './board-query/board-query.service'
import { commentService } from './comment/comment.service'
import { notificationService } from './notification/notification.service'
import { postService } from './post/post.service'
import { boardWeb } from './web/board-web.routes'
import { GuestPages } from './web/guest-pages'
import { guestPagesFastPath } from './web/guest-pages.fast-path'
import { identityService, MEMBER_SOURCE, type IdentityOptions, type IdentityService } from '@tidings/identity'
import { fastPathOf, type Host, hostServices, serviceContext, type ServiceContext } from '@tidings/http'

export interface BoardOptions {
  db: Database
  /** The identity service's token lifetime and key rotation. */
  identity?: IdentityOptions
  clock?: Clock
  logger?: Logger
  /** Same id across restarts for an embedded data directory (only one process can open it). */
  instanceId?: string
  /** The longest a read waits for a client's consistency tokens (default 2 s). */
  consistencyTimeoutMs?: number
  hotDocuments?: number
  /** What the `/internal` and feed routes ask for (`TIDINGS_SERVICE_TOKEN`); by default one no other process knows. */
  serviceCredential?: string
}

export type Board = Host & { services: Awaited<ReturnType<typeof boardServices>> & { identity: IdentityService } }

/**
 * The whole board in one process: the identity service and the board's four, each in its own schema, wired
 * in process — the read sides follow the producers' feeds directly and fetch the latest state through the
 * owners' lookups — and the web pages on top of their API.
 */
export async function composeBoard(options: BoardOptions): Promise<Board> {
  const ctx = serviceContext(options)
  const identity = await identityService(ctx, options.identity)
  const services = { identity, ...(await boardServices(ctx, identity, { hotDocuments: options.hotDocuments })) }
  const host = hostServices(ctx, Object.values(services))
  const http = host.http
  // The pages are a client of the API; in one process they call it through the app itself, no socket (the
  // page request's bindings go along, so the API sees the browser's address). Guests' pages are served
  // before the app while the read side's hot copies show they are current.
  const guestPages = new GuestPages()
  http.route('/', boardWeb({ api: (path, init, bindings) => http.request(path, init, bindings), logger: ctx.logger, guestPages }))
  return { ...host, services, fastPath: fastPathOf([host.fastPath, guestPagesFastPath(guestPages, services.query.current)])! }
}

/**
 * The board's four services on a shared context, for a process that hosts them (perhaps beside other
 * apps'), beside the identity service they take members and tokens from.
 */
export async function boardServices(ctx: ServiceContext, identity: IdentityService, queryOptions: BoardQueryOptions = {}) {
  const verify = identity.verifier
  const post = await postService(ctx, verify)
  const comment = await commentService(ctx, verify, post.lookup)
  const sources = { members: identity.lookup, posts: post.lookup, comments: comment.lookup, membersMany: identity.lookupMany, commentsMany: comment.lookupMany, postsMany: post.lookupMany }
  const query = await boardQueryService(ctx, [identity.feeds[MEMBER_SOURCE]!, post.feeds['board.post']!, comment.feeds['board.comment']!], sources, queryOptions)
  const notification = await notificationService(ctx, verify, comment.feeds['board.comment']!, sources)
  return { post, comment, query, notification }
}
