import { describe, expect, expectTypeOf, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { event, type Event } from './envelope'

type PostCreated = Event<'board.PostCreated.v1', { postId: string; title: string }>
type PostEdited = Event<'board.PostEdited.v1', { postId: string; version: number }>

describe('event()', () => {
  it('records type, key and data', () => {
    given({ postId: 'p1', title: 'Hello' })
      .when((data) => event<PostCreated>('board.PostCreated.v1', 'p1', data))
      .thenExpect((e) => {
        expect(e).toStrictEqual({ type: 'board.PostCreated.v1', key: 'p1', data: { postId: 'p1', title: 'Hello' } })
      })
  })

  it('leaves version out entirely when neither the data nor the caller give one', () => {
    const e = event<PostCreated>('board.PostCreated.v1', 'p1', { postId: 'p1', title: 'Hello' })
    expect(e).not.toHaveProperty('version')
    expect(Object.keys(e)).toEqual(['type', 'key', 'data'])
  })

  it('takes the version from data.version (zero-payload events carry it there)', () => {
    const e = event<PostEdited>('board.PostEdited.v1', 'p1', { postId: 'p1', version: 4 })
    expect(e.version).toBe(4)
    expect(e.data).toStrictEqual({ postId: 'p1', version: 4 })
  })

  it('takes data.version 0 as a version', () => {
    expect(event('x.Happened.v1', 'k', { version: 0 }).version).toBe(0)
  })

  it('uses an explicit version when the data has none', () => {
    expect(event<PostCreated>('board.PostCreated.v1', 'p1', { postId: 'p1', title: 'Hi' }, 1).version).toBe(1)
  })

  it('prefers an explicit version over data.version', () => {
    expect(event<PostEdited>('board.PostEdited.v1', 'p1', { postId: 'p1', version: 4 }, 9).version).toBe(9)
  })

  it('prefers an explicit version 0 over data.version (0 is not "missing")', () => {
    expect(event<PostEdited>('board.PostEdited.v1', 'p1', { postId: 'p1', version: 4 }, 0).version).toBe(0)
  })

  it.each([
    ['a string', { version: '4' }],
    ['null', { version: null }],
    ['an object', { version: { n: 4 } }],
    ['undefined', { version: undefined }],
  ])('ignores a data.version that is %s', (_label, data) => {
    expect(event('x.Happened.v1', 'k', data)).not.toHaveProperty('version')
  })

  it.each([
    ['null', null],
    ['a string', 'version'],
    ['a number', 4],
    ['an array', [4]],
    ['undefined', undefined],
  ])('has no version when the data is %s', (_label, data) => {
    expect(event('x.Happened.v1', 'k', data)).not.toHaveProperty('version')
  })

  it('reads a version the data inherits', () => {
    const data = Object.create({ version: 6 }) as object
    expect(event('x.Happened.v1', 'k', data).version).toBe(6)
  })

  it('keeps the data object by reference (no copy)', () => {
    const data = { postId: 'p1', title: 'Hi' }
    expect(event<PostCreated>('board.PostCreated.v1', 'p1', data).data).toBe(data)
  })

  it('is typed by the event it builds', () => {
    const e = event<PostCreated>('board.PostCreated.v1', 'p1', { postId: 'p1', title: 'Hi' })
    expectTypeOf(e).toEqualTypeOf<PostCreated>()
    expectTypeOf(e.type).toEqualTypeOf<'board.PostCreated.v1'>()
    // @ts-expect-error the type name must match the event
    event<PostCreated>('board.PostEdited.v1', 'p1', { postId: 'p1', title: 'Hi' })
  })
})
