import { holdsCurrent, POSITION_HEADER, type FastPath } from '@tidings/http'
import { COPY_HEADERS, DEFAULT_LIST_LIMIT } from './board-query.routes'
import type { HotDocuments } from './hot-documents'

const SESSION_HEADER = POSITION_HEADER.toLowerCase()
const DOCUMENT_PATH = /^\/api\/board\/posts\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
const LIST_PATH = '/api/board/posts'

/**
 * The hottest reads of the board, answered before the HTTP app: `GET /api/board/posts/:postId` and the
 * list's first page `GET /api/board/posts`, without a consistency token (or any query), when the copy is
 * in the cache; a client that holds it already (`If-None-Match`) gets 304. Everything else — a token to
 * wait for, a miss, anything unusual in the path — goes to the app and gets its full treatment.
 */
export function hotReadFastPath(hot: HotDocuments, lists: HotDocuments): FastPath {
  return (req, res) => {
    if (req.method !== 'GET' || req.headers[SESSION_HEADER] !== undefined) return false
    const url = req.url ?? ''
    const postId = url === LIST_PATH ? undefined : DOCUMENT_PATH.exec(url)?.[1]
    const copy = url === LIST_PATH ? lists.peek(String(DEFAULT_LIST_LIMIT)) : postId === undefined ? undefined : hot.peek(postId)
    if (copy === undefined) return false
    if (holdsCurrent(req.headers['if-none-match'], copy.etag)) {
      res.writeHead(304, { ...COPY_HEADERS, ETag: copy.etag })
      res.end()
      return true
    }
    res.writeHead(200, { ...COPY_HEADERS, ETag: copy.etag, 'Content-Type': 'application/json', 'Content-Length': copy.bytes.length })
    res.end(copy.bytes)
    return true
  }
}
