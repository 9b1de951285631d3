import type { Documents, EvictionBus, FeedReader } from '@tidings/core'
import { consistencyWaiter, openSubscription, type ServiceContext } from '@tidings/http'
import { DocumentStore } from '@tidings/postgres'
import { boardQueryRoutes } from './board-query.routes'
import { HotDocuments } from './hot-documents'
import { hotReadFastPath } from './hot-read.fast-path'
import type { CurrentAnswers } from '../web/guest-pages.fast-path'
import type { StoredPostDocument } from './post-document'
import { postDocumentProjection, type PostDocumentSources, type PostDocumentsOn } from './post-document.projection'
import type { BoardService } from '../shared/board-service'

export const BOARD_QUERY_SCHEMA = 'board_query'
export const BOARD_QUERY_SERVICE = 'board.query'
/** The post documents' collection (a table's rows, or Redis keys under it). */
export const POST_DOCUMENTS_COLLECTION = 'post-documents'
/** The eviction bus topic of the post documents. */
export const POST_DOCUMENTS_TOPIC = 'board.post-documents'

export interface BoardQueryOptions {
  /** How many post documents each instance keeps in memory. */
  hotDocuments?: number
  /** The longest a hot copy (document or list page) is served (default 10 s): how stale a read without a token can be after a lost eviction. */
  hotMaxAgeMs?: number
  /**
   * Where instances tell each other which documents changed, so that each drops its hot copies (board.query
   * may run as several instances, each applying some partitions). Without one, evictions stay in process.
   */
  evictions?: EvictionBus
  /**
   * The post documents in a store outside PostgreSQL (Redis: `redisDocuments(…).collection(…)`). Default:
   * JSONB rows in board_query, written in the projection's own transactions.
   */
  documents?: Documents<StoredPostDocument>
}

/**
 * The read side: follows the member, post and comment feeds and keeps one document per post, which the
 * board's GET endpoints serve (hot ones from memory).
 */
export async function boardQueryService(
  ctx: ServiceContext,
  feeds: readonly FeedReader[],
  sources: PostDocumentSources,
  options: BoardQueryOptions = {},
): Promise<BoardService & { hot: HotDocuments; lists: HotDocuments; current: CurrentAnswers; rows: DocumentStore<StoredPostDocument> }> {
  const rows = new DocumentStore<StoredPostDocument>(BOARD_QUERY_SCHEMA, POST_DOCUMENTS_COLLECTION)
  const outside = options.documents
  const documents: PostDocumentsOn = outside ? () => outside : (via) => rows.on(via)
  const hot = new HotDocuments({ capacity: options.hotDocuments, maxAgeMs: options.hotMaxAgeMs })
  // The list's first pages, one per limit asked for: any post's change may change them, so any clears them.
  const lists = new HotDocuments({ capacity: 100, maxAgeMs: options.hotMaxAgeMs })
  const forget = (postIds: readonly string[] | 'all'): void => {
    if (postIds === 'all') hot.clear()
    else hot.evict(postIds)
    lists.clear()
  }
  const { evictions } = options
  // Evictions from every instance, this one's included; after a lost connection, whatever may be missed.
  const unsubscribe = evictions?.subscribe(POST_DOCUMENTS_TOPIC, (eviction) => forget(eviction.all ? 'all' : eviction.ids), () => forget('all'))
  const changed = (postIds: string[]): void => {
    forget(postIds) // here first, before this instance reports its progress
    evictions?.publish({ topic: POST_DOCUMENTS_TOPIC, ids: postIds }).catch((error: unknown) => ctx.logger.warn({ err: error, postIds }, 'evictions not sent to the other instances'))
  }
  // A rebuild cleared every document: every instance drops every copy at once, not when they expire.
  const cleared = (): void => {
    forget('all')
    evictions?.publish({ topic: POST_DOCUMENTS_TOPIC, ids: [], all: true }).catch((error: unknown) => ctx.logger.warn({ err: error }, 'rebuild eviction not sent to the other instances'))
  }
  const projection = postDocumentProjection(documents, sources, changed, cleared)
  const subscription = await openSubscription(ctx, BOARD_QUERY_SCHEMA, projection, feeds)
  // Hot copies answer token reads only while this instance applies every change itself, and only those
  // cached since it took over: before, another instance applied changes whose evictions may never come
  // (it crashed before sending them, or they are still on their way).
  let servingSince: number | undefined
  const hotServesTokens = (): boolean => {
    if (!subscription.isActive()) return false
    const activation = subscription.activations()
    if (activation !== servingSince) {
      forget('all')
      servingSince = activation
    }
    return true
  }
  return {
    name: BOARD_QUERY_SERVICE,
    routes: boardQueryRoutes({
      db: ctx.db,
      documents,
      hot,
      lists,
      waiter: consistencyWaiter([subscription], { timeoutMs: ctx.consistencyTimeoutMs }),
      hotServesTokens,
    }),
    close: () => unsubscribe?.(),
    feeds: {},
    fastPath: hotReadFastPath(hot, lists),
    /** The ETags of what a read without a token is answered now, from the hot copies (for the guests' pages). */
    current: { postList: (limit) => lists.peek(String(limit))?.etag, post: (postId) => hot.peek(postId)?.etag },
    subscriptions: [subscription],
    producerSchemas: [],
    consumerSchemas: [BOARD_QUERY_SCHEMA],
    hot,
    lists,
    /** The documents' PostgreSQL rows (unused when `options.documents` keeps them elsewhere). */
    rows,
  }
}
