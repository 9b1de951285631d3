import type { Clock, Logger } from '@tidings/core'
import type { Database } from '@tidings/postgres'
import { boardQueryService, type BoardQueryOptions } from './board-query/board-query.service'
import { commentService } from './comment/comment.service'
import { memberService } from './member/member.service'
import { notificationService } from './notification/notification.service'
import { postService } from './post/post.service'
import { boardWeb } from './web/board-web.routes'
import { memberTokens, type MemberTokens } from './shared/member-tokens'
import { type Host, hostServices, serviceContext, type ServiceContext } from '@tidings/http'

export interface BoardOptions {
  db: Database
  tokenSecret: Buffer
  clock?: Clock
  logger?: Logger
  /** Same id across restarts for an embedded data directory (only one process can open it). */
  instanceId?: string
  /** The longest a read waits for a client's consistency tokens (default 2 s). */
  consistencyTimeoutMs?: number
  hotDocuments?: number
}

export type Board = Host & { services: Awaited<ReturnType<typeof boardServices>> }

/**
 * The whole board in one process: five services, each in its own schema, wired in process — the read
 * sides follow the producers' feeds directly and fetch the latest state through the owners' lookups —
 * and the web pages on top of their API.
 */
export async function composeBoard(options: BoardOptions): Promise<Board> {
  const ctx = serviceContext(options)
  const services = await boardServices(ctx, memberTokens(options.tokenSecret, ctx.clock), { hotDocuments: options.hotDocuments })
  const host = hostServices(ctx, Object.values(services))
  const http = host.http
  // The pages are a client of the API; in one process they call it through the app itself, no socket.
  http.route('/', boardWeb({ api: (path, init) => http.request(path, init), logger: ctx.logger }))
  return { ...host, services }
}

/** The five services on a shared context, for a process that hosts them (perhaps beside other apps'). */
export async function boardServices(ctx: ServiceContext, tokens: MemberTokens, queryOptions: BoardQueryOptions = {}) {
  const member = await memberService(ctx, tokens)
  const post = await postService(ctx, tokens)
  const comment = await commentService(ctx, tokens, post.lookup)
  const sources = { members: member.lookup, posts: post.lookup, comments: comment.lookup, membersMany: member.lookupMany, commentsMany: comment.lookupMany, postsMany: post.lookupMany }
  const query = await boardQueryService(ctx, [member.feeds['board.member']!, post.feeds['board.post']!, comment.feeds['board.comment']!], sources, queryOptions)
  const notification = await notificationService(ctx, tokens, comment.feeds['board.comment']!, sources)
  return { member, post, comment, query, notification }
}
