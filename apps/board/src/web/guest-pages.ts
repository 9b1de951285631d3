import { etagOf } from '@tidings/http'
import { SizedLru } from '../shared/sized-lru'

/** A page as every guest is served it: its HTML as bytes, their ETag, and the API answer it shows. */
export interface GuestPage {
  /** The ETag of the API answer it was rendered from: while the API answers with this one, the page is the same. */
  source: string
  bytes: Buffer<ArrayBuffer>
  etag: string
}

export function guestPage(source: string, html: string): GuestPage {
  const bytes = Buffer.from(html)
  return { source, bytes, etag: etagOf(bytes) }
}

export interface GuestPagesOptions {
  /** The bytes of HTML kept at most (default 32 MiB); the least recently used pages go first. */
  maxBytes?: number
  /** A page larger than this is served but not kept (default 1 MiB): a huge thread cannot crowd the rest out. */
  maxPageBytes?: number
}

/**
 * Rendered pages for visitors who are not signed in, by path: such a page depends only on the API answer
 * it shows, so it is rendered once per version of that answer and served as bytes after. Nothing is
 * evicted: each request asks the API whether the answer a page shows is still current (`If-None-Match`
 * with the page's `source`), or, before the app, the API's hot copies (`guestPagesFastPath`). Paths are
 * keyed in lower case, as the ids in them are: `/posts/<ID>` and `/posts/<id>` are one page, not one per
 * spelling. Bounded by the bytes held, not a count of pages.
 */
export class GuestPages {
  private readonly pages: SizedLru<GuestPage>

  constructor(options: GuestPagesOptions = {}) {
    const maxSize = options.maxBytes ?? 32 * 1024 * 1024
    this.pages = new SizedLru((page) => page.bytes.length, { maxSize, maxEntrySize: options.maxPageBytes ?? 1024 * 1024 })
  }

  /** The page last rendered at `path`, if any. */
  get(path: string): GuestPage | undefined {
    return this.pages.get(path.toLowerCase())
  }

  set(path: string, page: GuestPage): void {
    this.pages.set(path.toLowerCase(), page)
  }

  /** How many pages and bytes are held. */
  size(): { pages: number; bytes: number } {
    const { entries, size } = this.pages.usage()
    return { pages: entries, bytes: size }
  }
}
