import { describe, expect, it } from 'vitest'
import { GuestPages, type GuestPage } from './guest-pages'

const page = (html: string, source = '"s"'): GuestPage => ({ source, html, etag: `"${html.length}"` })

describe('guest pages', () => {
  it('keys paths in lower case: every spelling of an id is one page', () => {
    const pages = new GuestPages()
    pages.set('/posts/01ABCDEF', page('<p>post</p>'))
    expect(pages.get('/posts/01abcdef')?.html).toBe('<p>post</p>')
    pages.set('/posts/01AbCdEf', page('<p>again</p>'))
    expect(pages.size()).toEqual({ pages: 1, chars: '<p>again</p>'.length })
  })

  it('holds at most maxChars, the least recently used going first, and keeps no page over maxPageChars', () => {
    const pages = new GuestPages({ maxChars: 30, maxPageChars: 12 })
    pages.set('/a', page('a'.repeat(10)))
    pages.set('/b', page('b'.repeat(10)))
    pages.set('/c', page('c'.repeat(10)))
    expect(pages.get('/a')).toBeDefined() // now the most recent
    pages.set('/d', page('d'.repeat(10))) // /b goes
    expect([pages.get('/b'), pages.get('/c')?.html.length, pages.get('/a')?.html.length, pages.get('/d')?.html.length]).toEqual([undefined, 10, 10, 10])
    expect(pages.size()).toEqual({ pages: 3, chars: 30 })
    pages.set('/huge', page('h'.repeat(13)))
    expect(pages.get('/huge')).toBeUndefined()
    pages.set('/a', page('h'.repeat(13))) // a page that grew too large is dropped, not kept stale
    expect(pages.get('/a')).toBeUndefined()
    expect(pages.size()).toEqual({ pages: 2, chars: 20 })
  })
})
