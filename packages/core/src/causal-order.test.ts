import { describe, expect, it } from 'vitest'
import { afterPositions, dependenciesOf, NOT_FOLLOWED, unmetDependency, type AppliedPosition } from './causal-order'
import type { Envelope } from './envelope'
import { parseSession } from './position'

const completed = (after?: unknown): Envelope => ({
  id: 'e-1',
  type: 'a.Completed',
  source: 'a',
  key: 'k',
  occurredAt: '2026-12-06T00:00:00Z',
  data: {},
  meta: after === undefined ? {} : ({ after } as Envelope['meta']),
})

const appliedUpTo = (positions: Record<string, string | undefined>): AppliedPosition =>
  async (source) => (source in positions ? positions[source] : NOT_FOLLOWED)

describe('causal order across feeds', () => {
  it('names one position per feed, the newest, from tokens, strings or a session', () => {
    expect(afterPositions([{ source: 'attr', position: '5-1' }, 'attr@7-2', 'other@3-1'])).toStrictEqual({ after: ['attr@7-2', 'other@3-1'] })
    expect(afterPositions(parseSession('attr@9-1,b@1-1'))).toStrictEqual({ after: ['attr@9-1', 'b@1-1'] })
    expect(afterPositions(undefined)).toStrictEqual({})
    expect(afterPositions(['not a token'])).toStrictEqual({})
  })

  it('reads the dependencies an event names and ignores malformed ones', () => {
    expect(dependenciesOf(completed(['attr@7-2', 'junk', 42]))).toStrictEqual([{ source: 'attr', position: '7-2' }])
    expect(dependenciesOf(completed('attr@7-2'))).toStrictEqual([])
    expect(dependenciesOf(completed())).toStrictEqual([])
  })

  it('waits for a followed feed until it has been applied up to the named position', async () => {
    const event = completed(['attr@7-2', 'b@3-1'])
    expect(await unmetDependency(event, appliedUpTo({ attr: undefined, b: '9-9' }))).toStrictEqual({ source: 'attr', position: '7-2' })
    expect(await unmetDependency(event, appliedUpTo({ attr: '7-1', b: '9-9' }))).toStrictEqual({ source: 'attr', position: '7-2' })
    expect(await unmetDependency(event, appliedUpTo({ attr: '7-2', b: '2-9' }))).toStrictEqual({ source: 'b', position: '3-1' })
    expect(await unmetDependency(event, appliedUpTo({ attr: '8-0', b: '3-1' }))).toBeUndefined()
  })

  it('does not wait for feeds the consumer does not follow', async () => {
    expect(await unmetDependency(completed(['attr@7-2']), appliedUpTo({ b: '1-1' }))).toBeUndefined()
  })
})
