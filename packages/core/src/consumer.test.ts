import { describe, expect, it } from 'vitest'
import { consumer, isPermanentFailure } from './consumer'
import type { Envelope } from './envelope'
import {
  InvalidPosition,
  LeaseLost,
  MalformedEnvelope,
  PayloadTooLarge,
  TidingsError,
  UnknownEventType,
  UnknownFeed,
  ValidationFailed,
  VersionConflict,
} from './errors'

describe('consumer()', () => {
  it('returns the definition it was given', () => {
    const seen: Envelope[] = []
    const definition = {
      name: 'board.post-document',
      follows: ['board.post', 'board.comment'],
      mode: 'deferred' as const,
      retry: { maxAttempts: 3 },
      handle: async (_tx: string, message: Envelope) => {
        seen.push(message)
      },
    }
    expect(consumer(definition)).toBe(definition)
  })
})

describe('isPermanentFailure', () => {
  it.each([
    ['MalformedEnvelope', new MalformedEnvelope('id')],
    ['UnknownEventType', new UnknownEventType('x.Nope.v1')],
    ['ValidationFailed', new ValidationFailed([{ path: 'title', message: 'required' }])],
    ['InvalidPosition', new InvalidPosition('01-2')],
    ['a validation TidingsError of the app', new TidingsError('TITLE_EMPTY', 'validation', 'empty title')],
  ])('is true for %s: retrying cannot help', (_label, error) => {
    expect(isPermanentFailure(error)).toBe(true)
  })

  it.each([
    ['VersionConflict', new VersionConflict('p1', 3)],
    ['LeaseLost', new LeaseLost('relay')],
    ['UnknownFeed', new UnknownFeed('board.post')],
    ['PayloadTooLarge', new PayloadTooLarge(1024)],
    ['an unavailable TidingsError', new TidingsError('DOWN', 'unavailable', 'db down')],
    ['a plain Error', new Error('connection reset')],
    ['a TypeError', new TypeError('x is undefined')],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
    ['null', null],
    ['an object that looks like a validation error', { name: 'MalformedEnvelope', code: 'MALFORMED_ENVELOPE', kind: 'validation' }],
  ])('is false for %s: it is retried', (_label, error) => {
    expect(isPermanentFailure(error)).toBe(false)
  })
})
