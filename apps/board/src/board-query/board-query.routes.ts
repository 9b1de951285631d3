import { Hono } from 'hono'
import * as z from 'zod'
import { type ConsistencyWaiter, consistentRead, uuid, validParams, validQuery } from '@tidings/http'
import type { Database, DocumentStore } from '@tidings/postgres'
import { PostNotFound } from '../post/post'
import type { HotDocuments } from './hot-documents'
import { renderListItem, renderPostDocument, type PostListItem, type StoredPostDocument } from './post-document'
import type { MemberEnv } from '../auth'
import type { BoardRoutes } from '../shared/board-service'

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: uuid.optional(),
})

export interface BoardQueryRoutesDeps {
  db: Database
  documents: DocumentStore<StoredPostDocument>
  hot: HotDocuments
  waiter: ConsistencyWaiter
}

/** The query side: answers from the post documents only; a consistency token makes it wait for its write. */
export function boardQueryRoutes({ db, documents, hot, waiter }: BoardQueryRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const readYourWrites = consistentRead({ waiter })

  routes.get('/api/board/posts/:postId', validParams(z.object({ postId: uuid })), readYourWrites, async (c) => {
    const { postId } = c.req.valid('param')
    const json = await hot.read(postId, async () => {
      const stored = await documents.get(db, postId)
      const document = stored && renderPostDocument(postId, stored.body)
      return document && JSON.stringify(document)
    })
    if (json === undefined) throw new PostNotFound(postId)
    return c.body(json, 200, { 'Content-Type': 'application/json' })
  })

  routes.get('/api/board/posts', validQuery(ListQuery), readYourWrites, async (c) => {
    const { limit, cursor } = c.req.valid('query')
    const found = await documents.find(db, {}, { order: 'desc', beforeId: cursor, having: 'post', limit })
    const items = found.map((d) => renderListItem(d.id, d.body)).filter((item): item is PostListItem => item !== undefined)
    return c.json({ items, nextCursor: found.length === limit ? found.at(-1)!.id : null })
  })

  return routes
}
