import { describe, expect, it } from 'vitest'
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
  type ErrorKind,
} from './errors'

const cases: ReadonlyArray<{ error: TidingsError; name: string; code: string; kind: ErrorKind; message: string }> = [
  {
    error: new ValidationFailed([{ path: 'title', message: 'required' }]),
    name: 'ValidationFailed',
    code: 'VALIDATION',
    kind: 'validation',
    message: 'The request is not valid',
  },
  {
    error: new MalformedEnvelope('id'),
    name: 'MalformedEnvelope',
    code: 'MALFORMED_ENVELOPE',
    kind: 'validation',
    message: 'Malformed envelope: id',
  },
  {
    error: new UnknownEventType('board.Nope.v1'),
    name: 'UnknownEventType',
    code: 'UNKNOWN_EVENT_TYPE',
    kind: 'validation',
    message: 'No handler knows the event type "board.Nope.v1"',
  },
  {
    error: new InvalidPosition('01-2'),
    name: 'InvalidPosition',
    code: 'INVALID_POSITION',
    kind: 'validation',
    message: 'Not a feed position: "01-2"',
  },
  {
    error: new PayloadTooLarge(1024),
    name: 'PayloadTooLarge',
    code: 'PAYLOAD_TOO_LARGE',
    kind: 'too_large',
    message: 'The payload exceeds 1024 bytes',
  },
  {
    error: new UnknownFeed('board.nope'),
    name: 'UnknownFeed',
    code: 'UNKNOWN_FEED',
    kind: 'not_found',
    message: 'No feed named "board.nope"',
  },
  {
    error: new LeaseLost('relay:board'),
    name: 'LeaseLost',
    code: 'LEASE_LOST',
    kind: 'conflict',
    message: 'This instance no longer holds the lease relay:board',
  },
  {
    error: new VersionConflict('post-1', 3),
    name: 'VersionConflict',
    code: 'VERSION_CONFLICT',
    kind: 'conflict',
    message: 'Event 3 of post-1 was already written',
  },
]

describe.each(cases)('$name', ({ error, name, code, kind, message }) => {
  it('is an Error and a TidingsError', () => {
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(TidingsError)
  })

  it(`has the stable code ${code} and the kind ${kind}`, () => {
    expect(error.code).toBe(code)
    expect(error.kind).toBe(kind)
  })

  it('is named after its class', () => {
    expect(error.name).toBe(name)
    expect(error.constructor.name).toBe(name)
    expect(String(error)).toBe(`${name}: ${message}`)
  })

  it('says what went wrong', () => {
    expect(error.message).toBe(message)
  })

  it('has a stack that starts with its name', () => {
    expect(error.stack).toMatch(new RegExp(`^${name}: `))
  })
})

it('gives every class its own code', () => {
  expect(new Set(cases.map((c) => c.code)).size).toBe(cases.length)
})

describe('TidingsError', () => {
  it('carries code, kind, message and details', () => {
    const error = new TidingsError('SEAT_TAKEN', 'conflict', 'Seat A1 is taken', { seat: 'A1' })
    expect(error).toMatchObject({ name: 'TidingsError', code: 'SEAT_TAKEN', kind: 'conflict', message: 'Seat A1 is taken' })
    expect(error.details).toStrictEqual({ seat: 'A1' })
  })

  it('has no details unless given', () => {
    expect(new TidingsError('X', 'unavailable', 'x').details).toBeUndefined()
  })

  it('names an app-defined subclass after that subclass', () => {
    class PostNotFound extends TidingsError {
      constructor(id: string) {
        super('POST_NOT_FOUND', 'not_found', `No post ${id}`)
      }
    }
    class ArchivedPostNotFound extends PostNotFound {}
    const error = new ArchivedPostNotFound('p1')
    expect(error.name).toBe('ArchivedPostNotFound')
    expect(error).toBeInstanceOf(PostNotFound)
    expect(error).toBeInstanceOf(TidingsError)
    expect(error.code).toBe('POST_NOT_FOUND')
  })

  it('is told apart from other classes by instanceof', () => {
    expect(new MalformedEnvelope('x')).not.toBeInstanceOf(InvalidPosition)
    expect(new Error('plain')).not.toBeInstanceOf(TidingsError)
  })
})

describe('ValidationFailed', () => {
  it('lists the failing fields, also in details', () => {
    const fields = [
      { path: 'title', message: 'required' },
      { path: 'body', message: 'too long' },
    ]
    const error = new ValidationFailed(fields)
    expect(error.fields).toBe(fields)
    expect(error.details).toStrictEqual({ fields })
  })

  it('takes a custom message', () => {
    expect(new ValidationFailed([], 'Title is required').message).toBe('Title is required')
  })
})

describe('UnknownEventType', () => {
  it('keeps the type it did not know', () => {
    expect(new UnknownEventType('board.Nope.v1').type).toBe('board.Nope.v1')
  })
})

describe.each([
  ['InvalidPosition', (value: string) => new InvalidPosition(value), 'Not a feed position: '],
  ['UnknownFeed', (value: string) => new UnknownFeed(value), 'No feed named '],
])('%s', (_name, make, prefix) => {
  it('quotes at most 80 characters of what it was given', () => {
    const value = `${'a'.repeat(80)}${'b'.repeat(10_000)}`
    expect(make(value).message).toBe(`${prefix}"${'a'.repeat(80)}"`)
  })

  it('quotes control characters and quotes escaped, so logs and problem+json stay on one line', () => {
    const message = make('x"\n\r\u0000').message
    expect(message).toBe(`${prefix}"x\\"\\n\\r\\u0000"`)
    for (const raw of ['\n', '\r', '\u0000']) expect(message).not.toContain(raw)
  })
})
