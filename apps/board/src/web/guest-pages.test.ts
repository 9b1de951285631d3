import { describe, expect, it } from 'vitest'
import { GuestPages, guestPage } from './guest-pages'

const text = (page: { bytes: Buffer } | undefined) => page?.bytes.toString()

describe('guest pages', () => {
  it('keys paths in lower case: every spelling of an id is one page', () => {
    const pages = new GuestPages()
    pages.set('/posts/01ABCDEF', guestPage('"s"', '<p>post</p>'))
    expect(text(pages.get('/posts/01abcdef'))).toBe('<p>post</p>')
    pages.set('/posts/01AbCdEf', guestPage('"s"', '<p>again</p>'))
    expect(pages.size()).toEqual({ pages: 1, bytes: '<p>again</p>'.length })
  })

  it('gives a page the ETag of its bytes and keeps the source it shows', () => {
    const a = guestPage('"v1"', '<p>é</p>')
    expect(a.bytes.length).toBe(Buffer.byteLength('<p>é</p>'))
    expect(a.source).toBe('"v1"')
    expect(guestPage('"v2"', '<p>é</p>').etag).toBe(a.etag)
    expect(guestPage('"v1"', '<p>e</p>').etag).not.toBe(a.etag)
  })

  it('holds at most maxBytes, the least recently used going first, and keeps no page over maxPageBytes', () => {
    const pages = new GuestPages({ maxBytes: 30, maxPageBytes: 12 })
    pages.set('/a', guestPage('"s"', 'a'.repeat(10)))
    pages.set('/b', guestPage('"s"', 'b'.repeat(10)))
    pages.set('/c', guestPage('"s"', 'c'.repeat(10)))
    expect(pages.get('/a')).toBeDefined() // now the most recent
    pages.set('/d', guestPage('"s"', 'd'.repeat(10))) // /b goes
    expect([pages.get('/b'), text(pages.get('/c')), text(pages.get('/a')), text(pages.get('/d'))]).toEqual([undefined, 'c'.repeat(10), 'a'.repeat(10), 'd'.repeat(10)])
    expect(pages.size()).toEqual({ pages: 3, bytes: 30 })
    pages.set('/huge', guestPage('"s"', 'h'.repeat(13)))
    expect(pages.get('/huge')).toBeUndefined()
    pages.set('/a', guestPage('"s"', 'h'.repeat(13))) // a page that grew too large is dropped, not kept stale
    expect(pages.get('/a')).toBeUndefined()
    expect(pages.size()).toEqual({ pages: 2, bytes: 20 })
  })
})
