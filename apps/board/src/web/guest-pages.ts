/** A page as every guest is served it: its HTML, the ETag of those bytes, and the API answer it shows. */
export interface GuestPage {
  /** The ETag of the API answer it was rendered from: while the API answers with this one, the page is the same. */
  source: string
  html: string
  etag: string
}

export interface GuestPagesOptions {
  /** The characters of HTML kept at most (default 32 Mi); the least recently used pages go first. */
  maxChars?: number
  /** A page longer than this is served but not kept (default 1 Mi characters): a huge thread cannot crowd the rest out. */
  maxPageChars?: number
}

/**
 * Rendered pages for visitors who are not signed in, by path: such a page depends only on the API answer
 * it shows, so it is rendered once per version of that answer and served as bytes after. Nothing is
 * evicted: each request asks the API whether the answer a page shows is still current (`If-None-Match`
 * with the page's `source`). Paths are keyed in lower case, as the ids in them are: `/posts/<ID>` and
 * `/posts/<id>` are one page, not one per spelling. Bounded by the characters held, not a count of pages.
 */
export class GuestPages {
  private readonly pages = new Map<string, GuestPage>()
  private chars = 0
  private readonly maxChars: number
  private readonly maxPageChars: number

  constructor(options: GuestPagesOptions = {}) {
    this.maxChars = options.maxChars ?? 32 * 1024 * 1024
    this.maxPageChars = Math.min(options.maxPageChars ?? 1024 * 1024, this.maxChars)
  }

  /** The page last rendered at `path`, if any. */
  get(path: string): GuestPage | undefined {
    const key = path.toLowerCase()
    const page = this.pages.get(key)
    if (page === undefined) return undefined
    this.pages.delete(key)
    this.pages.set(key, page)
    return page
  }

  set(path: string, page: GuestPage): void {
    const key = path.toLowerCase()
    this.forget(key)
    if (page.html.length > this.maxPageChars) return
    this.pages.set(key, page)
    this.chars += page.html.length
    while (this.chars > this.maxChars) this.forget(this.pages.keys().next().value!)
  }

  /** How many pages and characters are held. */
  size(): { pages: number; chars: number } {
    return { pages: this.pages.size, chars: this.chars }
  }

  private forget(key: string): void {
    const page = this.pages.get(key)
    if (page === undefined) return
    this.pages.delete(key)
    this.chars -= page.html.length
  }
}
