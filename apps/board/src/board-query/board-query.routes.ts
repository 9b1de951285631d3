import { Hono, type Context } from 'hono'
import * as z from 'zod'
import { type ConsistencyWaiter, consistentRead, holdsCurrent, requestSession, uuid, validParams, validQuery } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { PostNotFound } from '../post/post.contracts'
import { hotCopy, type HotCopy, type HotDocuments } from './hot-documents'
import { renderListItem, renderPostDocument, type PostListItem } from './post-document'
import type { PostDocumentsOn } from './post-document.projection'
import type { MemberEnv } from '@tidings/auth'
import type { BoardRoutes } from '../shared/board-service'

/** The list's page size when the request names none. */
export const DEFAULT_LIST_LIMIT = 20

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(DEFAULT_LIST_LIMIT),
  cursor: uuid.optional(),
})

export interface BoardQueryRoutesDeps {
  db: Database
  documents: PostDocumentsOn
  hot: HotDocuments
  /** The first pages of the list, by their limit: cleared whenever any post document changes. */
  lists: HotDocuments
  waiter: ConsistencyWaiter
  /**
   * Whether a read with a consistency token may be answered from the hot documents and lists: only while this
   * instance applies every change itself, since it evicts before it reports progress, and from what it
   * cached since it took over. Another instance's evictions arrive over the eviction bus, after that
   * instance has reported its progress, or never (it crashed first).
   */
  hotServesTokens: () => boolean
}

/** The query side: answers from the post documents only; a consistency token makes it wait for its write. */
export function boardQueryRoutes({ db, documents, hot, lists, waiter, hotServesTokens }: BoardQueryRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const readYourWrites = consistentRead({ waiter })
  /** Whether this request may be answered from a hot copy: always without a token, with one as `hotServesTokens` says. */
  const mayUseHot = (c: Context<MemberEnv>) => requestSession(c) === undefined || hotServesTokens()

  routes.get('/api/board/posts/:postId', validParams(z.object({ postId: uuid })), readYourWrites, async (c) => {
    const { postId } = c.req.valid('param')
    const load = async () => {
      const stored = await documents(db).get(postId)
      const document = stored && renderPostDocument(postId, stored.body)
      return document && JSON.stringify(document)
    }
    const copy = mayUseHot(c) ? await hot.read(postId, load) : copyOf(await load())
    if (copy === undefined) throw new PostNotFound(postId)
    return answer(c, copy)
  })

  routes.get('/api/board/posts', validQuery(ListQuery), readYourWrites, async (c) => {
    const { limit, cursor } = c.req.valid('query')
    const load = async () => {
      const found = await documents(db).find({}, { order: 'desc', beforeId: cursor, having: 'post', limit })
      const items = found.map((d) => renderListItem(d.id, d.body)).filter((item): item is PostListItem => item !== undefined)
      return JSON.stringify({ items, nextCursor: found.length === limit ? found.at(-1)!.id : null })
    }
    // Only first pages are kept: every change of a post document clears them, so a page read with a
    // token after its write is either loaded after the eviction or was cleared by it.
    const copy = cursor === undefined && mayUseHot(c) ? await lists.read(String(limit), load) : copyOf(await load())
    return answer(c, copy!)
  })

  return routes
}

const copyOf = (json: string | undefined): HotCopy | undefined => (json === undefined ? undefined : hotCopy(json))

/** Always revalidated (`no-cache`); a client holding these bytes (`If-None-Match`) is answered 304 without them. */
export const COPY_HEADERS = { 'Cache-Control': 'no-cache' }

function answer(c: Context, copy: HotCopy): Response {
  const headers = { ...COPY_HEADERS, ETag: copy.etag }
  if (holdsCurrent(c.req.header('if-none-match'), copy.etag)) return c.body(null, 304, headers)
  return c.body(copy.bytes, 200, { ...headers, 'Content-Type': 'application/json' })
}
