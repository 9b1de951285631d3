import { consistencyWaiter, openSubscription, type ServiceContext } from '@tidings/http'
import { DocumentStore, type FeedReader } from '@tidings/postgres'
import { boardQueryRoutes } from './board-query.routes'
import { HotDocuments } from './hot-documents'
import { hotReadFastPath } from './hot-read.fast-path'
import type { StoredPostDocument } from './post-document'
import { postDocumentProjection, type PostDocumentSources } from './post-document.projection'
import type { BoardService } from '../shared/board-service'

export const BOARD_QUERY_SCHEMA = 'board_query'
export const BOARD_QUERY_SERVICE = 'board.query'

/**
 * The read side: follows the member, post and comment feeds and keeps one document per post, which the
 * board's GET endpoints serve (hot ones from memory).
 */
export async function boardQueryService(
  ctx: ServiceContext,
  feeds: readonly FeedReader[],
  sources: PostDocumentSources,
  options: { hotDocuments?: number } = {},
): Promise<BoardService & { documents: DocumentStore<StoredPostDocument>; hot: HotDocuments }> {
  const documents = new DocumentStore<StoredPostDocument>(BOARD_QUERY_SCHEMA, 'post-documents')
  const hot = new HotDocuments(options.hotDocuments)
  const projection = postDocumentProjection(documents, sources, (postIds) => hot.evict(postIds))
  const subscription = await openSubscription(ctx, BOARD_QUERY_SCHEMA, projection, feeds)
  return {
    name: BOARD_QUERY_SERVICE,
    routes: boardQueryRoutes({ db: ctx.db, documents, hot, waiter: consistencyWaiter([subscription], { timeoutMs: ctx.consistencyTimeoutMs }) }),
    feeds: {},
    fastPath: hotReadFastPath(hot),
    subscriptions: [subscription],
    producerSchemas: [],
    consumerSchemas: [BOARD_QUERY_SCHEMA],
    documents,
    hot,
  }
}
