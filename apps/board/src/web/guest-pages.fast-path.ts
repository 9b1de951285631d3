import { type FastPath, holdsCurrent } from '@tidings/http'
import type { GuestPages } from './guest-pages'
import { guestPageHeaders, HTML_TYPE } from './page-headers'
import { mayCarrySession } from './session-cookies'

/**
 * What the board's API would answer now, where this process knows it without asking: the ETags of the
 * read side's hot copies (the API serves a read without a consistency token from them).
 */
export interface CurrentAnswers {
  /** The list's first page of `limit` posts. */
  postList(limit: number): string | undefined
  post(postId: string): string | undefined
}

/** The list's page size on `/`, as its route asks the API for it. */
export const GUEST_LIST_LIMIT = 20
const POST_PAGE = /^\/posts\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

/**
 * The list page `/` and a post's page `/posts/:id` for a guest, answered before the app when the page held
 * for guests shows the API's current answer: the same bytes and headers the app would send, with no
 * dispatch, no API call and no rendering. Anything else — a browser with a cookie of ours (signed in, or
 * with positions to wait for), a page not held, an answer that changed or is not in memory — goes to the
 * app, which asks the API and renders again if it must.
 */
export function guestPagesFastPath(pages: GuestPages, current: CurrentAnswers): FastPath {
  return (req, res) => {
    if (req.method !== 'GET' || mayCarrySession(req.headers.cookie)) return false
    const url = req.url ?? ''
    const postId = url === '/' ? undefined : POST_PAGE.exec(url)?.[1]
    const source = url === '/' ? current.postList(GUEST_LIST_LIMIT) : postId === undefined ? undefined : current.post(postId)
    if (source === undefined) return false
    const page = pages.get(url)
    if (page?.source !== source) return false
    const headers = guestPageHeaders(page)
    if (holdsCurrent(req.headers['if-none-match'], page.etag)) {
      res.writeHead(304, headers)
      res.end()
      return true
    }
    res.writeHead(200, { ...headers, 'Content-Type': HTML_TYPE, 'Content-Length': page.bytes.length })
    res.end(page.bytes)
    return true
  }
}
