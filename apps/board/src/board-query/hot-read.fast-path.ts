import { POSITION_HEADER, type FastPath } from '@tidings/http'
import type { HotDocuments } from './hot-documents'

const SESSION_HEADER = POSITION_HEADER.toLowerCase()
const DOCUMENT_PATH = /^\/api\/board\/posts\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

/**
 * The hottest read of the board, answered before the HTTP app: `GET /api/board/posts/:postId` without a
 * consistency token (or any query) whose document is in the cache. Everything else — a token to wait
 * for, a miss, anything unusual in the path — goes to the app and gets its full treatment.
 */
export function hotReadFastPath(hot: HotDocuments): FastPath {
  return (req, res) => {
    if (req.method !== 'GET' || req.headers[SESSION_HEADER] !== undefined) return false
    const postId = DOCUMENT_PATH.exec(req.url ?? '')?.[1]
    const json = postId === undefined ? undefined : hot.peek(postId)
    if (json === undefined) return false
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) })
    res.end(json)
    return true
  }
}
