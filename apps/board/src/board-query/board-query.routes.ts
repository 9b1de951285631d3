import { Hono } from 'hono'
import * as z from 'zod'
import { type ConsistencyWaiter, consistentRead, requestSession, uuid, validParams, validQuery } from '@tidings/http'
import type { Database } from '@tidings/postgres'
import { PostNotFound } from '../post/post.contracts'
import type { HotDocuments } from './hot-documents'
import { renderListItem, renderPostDocument, type PostListItem } from './post-document'
import type { PostDocumentsOn } from './post-document.projection'
import type { MemberEnv } from '@tidings/auth'
import type { BoardRoutes } from '../shared/board-service'

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: uuid.optional(),
})

export interface BoardQueryRoutesDeps {
  db: Database
  documents: PostDocumentsOn
  hot: HotDocuments
  waiter: ConsistencyWaiter
  /**
   * Whether a read with a consistency token may be answered from the hot documents: only while this
   * instance applies every change itself, since it evicts before it reports progress, and from what it
   * cached since it took over. Another instance's evictions arrive over the eviction bus, after that
   * instance has reported its progress, or never (it crashed first).
   */
  hotServesTokens: () => boolean
}

/** The query side: answers from the post documents only; a consistency token makes it wait for its write. */
export function boardQueryRoutes({ db, documents, hot, waiter, hotServesTokens }: BoardQueryRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const readYourWrites = consistentRead({ waiter })

  routes.get('/api/board/posts/:postId', validParams(z.object({ postId: uuid })), readYourWrites, async (c) => {
    const { postId } = c.req.valid('param')
    const load = async () => {
      const stored = await documents(db).get(postId)
      const document = stored && renderPostDocument(postId, stored.body)
      return document && JSON.stringify(document)
    }
    const json = requestSession(c) === undefined || hotServesTokens() ? await hot.read(postId, load) : await load()
    if (json === undefined) throw new PostNotFound(postId)
    return c.body(json, 200, { 'Content-Type': 'application/json' })
  })

  routes.get('/api/board/posts', validQuery(ListQuery), readYourWrites, async (c) => {
    const { limit, cursor } = c.req.valid('query')
    const found = await documents(db).find({}, { order: 'desc', beforeId: cursor, having: 'post', limit })
    const items = found.map((d) => renderListItem(d.id, d.body)).filter((item): item is PostListItem => item !== undefined)
    return c.json({ items, nextCursor: found.length === limit ? found.at(-1)!.id : null })
  })

  return routes
}
