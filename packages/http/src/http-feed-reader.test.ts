import { describe, expect, it } from 'vitest'
import { START } from '@tidings/core'
import { isInfrastructureError } from '@tidings/postgres'
import { FeedProtocolViolation, FeedUnavailable, HttpFeedReader } from './http-feed-reader'

/** A fetch that answers from a function, so that edge cases need no server. */
function fetchAnswering(answer: (url: string, init: RequestInit) => Promise<Response>): typeof fetch {
  return ((url: string, init: RequestInit) => answer(url, init)) as typeof fetch
}

describe('HttpFeedReader', () => {
  it('asks for the page with after, limit, wait and consumer under the base path', async () => {
    const urls: string[] = []
    const reader = new HttpFeedReader({
      baseUrl: 'http://producer:3000/base/',
      source: 'shop.orders',
      fetch: fetchAnswering(async (url) => {
        urls.push(url)
        return Response.json({ items: [], next: '5-1' })
      }),
    })
    expect(await reader.read('5-1', 50, { waitMs: 1000, reader: 'orders-view' })).toEqual({ items: [], next: '5-1' })
    await reader.read('5-1', 50, { reader: 'orders-view' })
    // The consumer's session is random per reader instance, and the same on every read of it.
    const session = new URL(urls[0]!).searchParams.get('session')
    expect(session).toMatch(/^[0-9a-f-]{36}$/)
    expect(urls).toEqual([
      `http://producer:3000/base/api/feeds/shop.orders?after=5-1&limit=50&wait=1000&consumer=orders-view&session=${session}`,
      `http://producer:3000/base/api/feeds/shop.orders?after=5-1&limit=50&consumer=orders-view&session=${session}`,
    ])
  })

  it('gives up on a producer that does not answer, as a transient failure', async () => {
    const reader = new HttpFeedReader({
      baseUrl: 'http://producer',
      source: 'shop.orders',
      timeoutMarginMs: 20,
      fetch: fetchAnswering((_url, init) => new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))),
    })
    const error = await reader.read(START, 10).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FeedUnavailable)
    expect((error as Error).message).toContain('no answer within 20 ms')
    expect(isInfrastructureError(error)).toBe(true)
  })

  it('refuses answers that are not feed pages', async () => {
    for (const body of [{}, { items: [] }, { items: 'x', next: '0' }, { items: [], next: 'later' }, null]) {
      const reader = new HttpFeedReader({ baseUrl: 'http://producer', source: 'shop.orders', fetch: fetchAnswering(async () => Response.json(body)) })
      await expect(reader.read(START, 10)).rejects.toBeInstanceOf(FeedProtocolViolation)
    }
    const behind = new HttpFeedReader({ baseUrl: 'http://p', source: 's', fetch: fetchAnswering(async () => Response.json({ items: [], next: '1-1' })) })
    await expect(behind.read('2-1', 10)).rejects.toBeInstanceOf(FeedProtocolViolation)
  })

  it('does not call the producer when already aborted', async () => {
    const reader = new HttpFeedReader({
      baseUrl: 'http://producer',
      source: 'shop.orders',
      fetch: fetchAnswering(async () => {
        throw new Error('must not be called')
      }),
    })
    expect(await reader.read('3-3', 10, { signal: AbortSignal.abort() })).toEqual({ items: [], next: '3-3' })
  })
})
