import { pino } from 'pino'
import { hostServices, HttpFeedReader, processConfig, runUntilSignalled, serviceContext, type ServiceContext } from '@tidings/http'
import { openDatabase } from '@tidings/postgres'
import { loadTokenSecret } from './auth'
import { BOARD_QUERY_SERVICE, boardQueryService, POST_DOCUMENTS_COLLECTION } from './board-query/board-query.service'
import { COMMENT_SOURCE, commentLookupOverHttp, commentsLookupOverHttp } from './comment/comment.contracts'
import { commentService } from './comment/comment.service'
import { serviceUrl } from './config'
import { MEMBER_SOURCE, memberLookupOverHttp, membersLookupOverHttp } from './member/member.contracts'
import { memberService } from './member/member.service'
import { NOTIFICATION_SERVICE, notificationService } from './notification/notification.service'
import { POST_SOURCE, postLookupOverHttp, postsLookupOverHttp } from './post/post.contracts'
import { postService } from './post/post.service'
import { memberTokens } from './shared/member-tokens'
import { documentsFromEnv, evictionBusFromEnv, transportFromEnv } from './transport-config'
import type { BoardService } from './shared/board-service'

/**
 * One board service as its own process against PostgreSQL (`DATABASE_URL`), e.g.
 * `npm run start:service -- board.query`. It reads the other services' feeds and latest state over HTTP
 * (`BOARD_MEMBER_URL`, `BOARD_POST_URL`, `BOARD_COMMENT_URL`); the token secret must be shared
 * (`TIDINGS_JWT_SECRET`, or the same data directory). With `TRANSPORT=nats|redis|rabbitmq` the services' events go
 * through that broker instead of the feeds' HTTP endpoints (see `transportFromEnv`); the latest state of
 * zero-payload events is still fetched from its owner over HTTP. With `EVICTIONS=redis` the instances of
 * board.query tell each other which documents changed (see `evictionBusFromEnv`); with `DOCUMENTS=redis` board.query
 * keeps its documents in Redis (see `documentsFromEnv`).
 */
// Started by a supervisor (`npm run start:cluster`) over an IPC channel: when it dies, so does this service,
// also while it is still starting (a supervisor that failed to start the others would leave it alone).
if (process.send) {
  if (!process.connected) process.exit(1)
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
}
const env = process.env
const name = process.argv[2] ?? env.BOARD_SERVICE ?? ''
const config = processConfig(env)
if (!config.databaseUrl) throw new Error('A service on its own runs against PostgreSQL: set DATABASE_URL')
const logger = pino({ level: config.logLevel }).child({ service: name })
const db = await openDatabase({ databaseUrl: config.databaseUrl, maxConnections: config.databasePool })
const transport = await transportFromEnv(env)
const evictions = name === BOARD_QUERY_SERVICE ? await evictionBusFromEnv(env, logger) : undefined
const documents = name === BOARD_QUERY_SERVICE ? await documentsFromEnv(env) : undefined
const ctx = serviceContext({ db, logger, consistencyTimeoutMs: config.consistencyTimeoutMs, transport })
const tokens = memberTokens(await loadTokenSecret({ env, dataDir: config.dataDir }), ctx.clock)

const feed = (source: string, service: 'member' | 'post' | 'comment') => new HttpFeedReader({ baseUrl: serviceUrl(env, service), source })
const sources = () => ({
  members: memberLookupOverHttp(serviceUrl(env, 'member')),
  posts: postLookupOverHttp(serviceUrl(env, 'post')),
  comments: commentLookupOverHttp(serviceUrl(env, 'comment')),
  membersMany: membersLookupOverHttp(serviceUrl(env, 'member')),
  commentsMany: commentsLookupOverHttp(serviceUrl(env, 'comment')),
  postsMany: postsLookupOverHttp(serviceUrl(env, 'post')),
})

const services: Record<string, (ctx: ServiceContext) => Promise<BoardService>> = {
  [MEMBER_SOURCE]: (ctx) => memberService(ctx, tokens),
  [POST_SOURCE]: (ctx) => postService(ctx, tokens),
  [COMMENT_SOURCE]: (ctx) => commentService(ctx, tokens, postLookupOverHttp(serviceUrl(env, 'post'))),
  [BOARD_QUERY_SERVICE]: (ctx) => boardQueryService(ctx, [feed(MEMBER_SOURCE, 'member'), feed(POST_SOURCE, 'post'), feed(COMMENT_SOURCE, 'comment')], sources(), { evictions, documents: documents?.collection(POST_DOCUMENTS_COLLECTION) }),
  [NOTIFICATION_SERVICE]: (ctx) => notificationService(ctx, tokens, feed(COMMENT_SOURCE, 'comment'), sources()),
}
const open = services[name]
if (!open) throw new Error(`Which service? One of: ${Object.keys(services).join(', ')} (got "${name}")`)
const host = hostServices(ctx, [await open(ctx)])
await runUntilSignalled({ host, db, closing: [transport, evictions, documents], port: config.port, hostname: config.host, logger, name, storage: transport ? `postgres, ${transport.name}` : 'postgres' })
