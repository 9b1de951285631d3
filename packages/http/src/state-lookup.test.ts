import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { isInfrastructureError } from '@tidings/postgres'
import { httpStateLookup, httpStatesLookup, MAX_STATE_IDS, stateIdsQuery, StateUnavailable } from './state-lookup'
import { uuid } from './user-text'

/** A fetch that answers from a function and notes the URLs asked for, so that edge cases need no server. */
function answering(answer: (url: string) => Response): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = []
  const fetchFn = (async (url: string) => {
    urls.push(url)
    return answer(url)
  }) as typeof fetch
  return { fetch: fetchFn, urls }
}

const State = z.object({ id: z.string(), version: z.number() })

describe('httpStateLookup', () => {
  it("fetches one entity's state under the base path, and tells a 404 as none", async () => {
    const { fetch, urls } = answering((url) => (url.endsWith('/a%2Fb') ? Response.json({ id: 'a/b', version: 3 }) : new Response(null, { status: 404 })))
    const lookup = httpStateLookup({ baseUrl: 'http://owner:3001/', path: (id) => `/internal/things/${id}`, parse: (body) => State.parse(body), fetch })
    expect(await lookup('a/b')).toEqual({ id: 'a/b', version: 3 })
    expect(await lookup('gone')).toBeUndefined()
    expect(urls).toEqual(['http://owner:3001/internal/things/a%2Fb', 'http://owner:3001/internal/things/gone'])
  })
})

describe('httpStatesLookup', () => {
  const lookup = (answer: (url: string) => Response, maxIds = 3) => {
    const fake = answering(answer)
    return { urls: fake.urls, many: httpStatesLookup({ baseUrl: 'http://owner:3001', path: '/internal/things', parse: (item) => State.parse(item), maxIds, fetch: fake.fetch }) }
  }
  const echo = (url: string) => Response.json({ items: new URL(url).searchParams.get('ids')!.split(',').filter((id) => id !== 'gone').map((id) => ({ id, version: 1 })) })

  it('asks for at most maxIds ids per request, and gives back every state that exists', async () => {
    const { many, urls } = lookup(echo)
    const ids = ['a', 'b', 'gone', 'd', 'e/f', 'g', 'h']
    expect((await many(ids)).map((s) => s.id)).toEqual(['a', 'b', 'd', 'e/f', 'g', 'h'])
    expect(urls).toEqual(['http://owner:3001/internal/things?ids=a,b,gone', 'http://owner:3001/internal/things?ids=d,e%2Ff,g', 'http://owner:3001/internal/things?ids=h'])
  })

  it('refuses an id it could not list (one with a comma) before asking anything', async () => {
    const { many, urls } = lookup(echo)
    await expect(many(['a', 'b,c'])).rejects.toThrow(RangeError)
    expect(urls).toEqual([])
  })

  it('asks nothing for no ids', async () => {
    const { many, urls } = lookup(echo)
    expect(await many([])).toEqual([])
    expect(urls).toEqual([])
  })

  it('fails as unavailable, to be retried, on an error status or an answer that is not a list of states', async () => {
    const answers = [new Response('boom', { status: 503 }), Response.json({}), Response.json({ items: [{ id: 'a' }] }), new Response('not json')]
    for (const answer of answers) {
      const { many } = lookup(() => answer)
      const error = await many(['a']).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StateUnavailable)
      expect(isInfrastructureError(error)).toBe(true)
    }
  })
})

describe('stateIdsQuery', () => {
  const query = stateIdsQuery(uuid)
  const id = '0190a8f2-0000-7000-8000-00000000000a'

  it('takes 1 to MAX_STATE_IDS comma-separated ids, each checked', () => {
    expect(query.parse({ ids: `${id},${id.toUpperCase()}` })).toEqual({ ids: [id, id] })
    expect(query.safeParse({ ids: Array(MAX_STATE_IDS).fill(id).join(',') }).success).toBe(true)
    for (const ids of [undefined, '', `${id},`, 'nope', [id, id], Array(MAX_STATE_IDS + 1).fill(id).join(',')]) expect(query.safeParse({ ids }).success, String(ids)).toBe(false)
  })
})
