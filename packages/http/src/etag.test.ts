import { describe, expect, it } from 'vitest'
import { etagOf, holdsCurrent } from './etag'

describe('ETag validators', () => {
  it('are quoted, the same for the same bytes and different for others', () => {
    const tag = etagOf('{"a":1}')
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
    expect(etagOf('{"a":1}')).toBe(tag)
    expect(etagOf('{"a":2}')).not.toBe(tag)
    expect(etagOf('é')).not.toBe(etagOf('e'))
  })

  it('If-None-Match holds the current bytes when it names their tag, weakly or in a list, or is *', () => {
    const tag = etagOf('body')
    expect(holdsCurrent(tag, tag)).toBe(true)
    expect(holdsCurrent(`W/${tag}`, tag)).toBe(true)
    expect(holdsCurrent(`"other", ${tag}`, tag)).toBe(true)
    expect(holdsCurrent(' * ', tag)).toBe(true)
    expect(holdsCurrent(etagOf('older body'), tag)).toBe(false)
    expect(holdsCurrent(tag.slice(1, -1), tag)).toBe(false) // unquoted is another tag
    expect(holdsCurrent('', tag)).toBe(false)
    expect(holdsCurrent(null, tag)).toBe(false)
    expect(holdsCurrent(undefined, tag)).toBe(false)
  })
})
