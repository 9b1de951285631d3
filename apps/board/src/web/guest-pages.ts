/** A page as every guest is served it: its HTML, the ETag of those bytes, and the API answer it shows. */
export interface GuestPage {
  /** The ETag of the API answer it was rendered from: while the API answers with this one, the page is the same. */
  source: string
  html: string
  etag: string
}

/**
 * Rendered pages for visitors who are not signed in, by path: such a page depends only on the API answer
 * it shows, so it is rendered once per version of that answer and served as bytes after. Nothing is
 * evicted: each request asks the API whether the answer a page shows is still current (`If-None-Match`
 * with the page's `source`). The least recently used go first beyond `capacity`.
 */
export class GuestPages {
  private readonly pages = new Map<string, GuestPage>()

  constructor(private readonly capacity = 1_000) {}

  /** The page last rendered at `path`, if any. */
  get(path: string): GuestPage | undefined {
    const page = this.pages.get(path)
    if (page === undefined) return undefined
    this.pages.delete(path)
    this.pages.set(path, page)
    return page
  }

  set(path: string, page: GuestPage): void {
    this.pages.delete(path)
    this.pages.set(path, page)
    if (this.pages.size > this.capacity) this.pages.delete(this.pages.keys().next().value!)
  }
}
