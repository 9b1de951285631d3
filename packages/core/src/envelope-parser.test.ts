import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import type { Envelope } from './envelope'
import { parseEnvelope } from './envelope-parser'
import { MalformedEnvelope, TidingsError } from './errors'

function valid(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '0190f4b2-7c3a-7def-8abc-0123456789ab',
    type: 'board.PostCreated.v1',
    source: 'board.post',
    key: 'post-1',
    version: 3,
    position: '745-12',
    occurredAt: '2026-01-01T12:00:00.000Z',
    data: { postId: 'post-1', version: 3 },
    meta: { correlationId: 'c-1', causationId: 'm-0', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    ...overrides,
  }
}

function without(field: string): Record<string, unknown> {
  const input = valid()
  delete input[field]
  return input
}

function rejectionOf(input: unknown): MalformedEnvelope {
  try {
    parseEnvelope(input)
  } catch (error) {
    if (error instanceof MalformedEnvelope) return error
    throw error
  }
  return expect.fail(`expected ${JSON.stringify(input)?.slice(0, 200)} to be rejected`)
}

/** Asserts the input is refused as MALFORMED_ENVELOPE and that the message names the offending field. */
function expectRejected(input: unknown, field: string): void {
  given(input).when(parseEnvelope).thenThrows(MalformedEnvelope, 'MALFORMED_ENVELOPE')
  expect(rejectionOf(input).message).toBe(`Malformed envelope: ${field}`)
}

describe('parseEnvelope', () => {
  describe('a valid envelope', () => {
    it('comes back with every field', () => {
      given(valid())
        .when(parseEnvelope)
        .thenExpect((envelope) => {
          expect(envelope).toStrictEqual(valid())
        })
    })

    it('comes back from its JSON form unchanged', () => {
      const text = JSON.stringify(valid())
      expect(parseEnvelope(JSON.parse(text))).toStrictEqual(JSON.parse(text))
    })

    it('is a new object, not the input', () => {
      const input = valid()
      expect(parseEnvelope(input)).not.toBe(input)
    })

    it('may leave out version and position (not yet committed, or not versioned)', () => {
      const input = valid()
      delete input.version
      delete input.position
      const envelope = parseEnvelope(input)
      expect(envelope).not.toHaveProperty('version')
      expect(envelope).not.toHaveProperty('position')
    })

    it('drops a null version', () => {
      expect(parseEnvelope(valid({ version: null }))).not.toHaveProperty('version')
    })

    it.each([0, 1, Number.MAX_SAFE_INTEGER])('keeps version %d', (version) => {
      expect(parseEnvelope(valid({ version })).version).toBe(version)
    })

    it('keeps the START position', () => {
      expect(parseEnvelope(valid({ position: '0' })).position).toBe('0')
    })

    it('gets an empty meta when meta is missing or null', () => {
      expect(parseEnvelope(without('meta')).meta).toEqual({})
      expect(parseEnvelope(valid({ meta: null })).meta).toEqual({})
    })

    it.each([
      ['null', null],
      ['a string', 'hello'],
      ['a number', 0],
      ['false', false],
      ['an array', [1, 2, 3]],
      ['an empty object (zero payload)', {}],
      ['a nested object', { a: { b: [{ c: 1 }] } }],
    ])('carries data that is %s as it is', (_label, data) => {
      expect(parseEnvelope(valid({ data })).data).toStrictEqual(data)
    })

    it('accepts names with dots, dashes, colons and underscores', () => {
      const envelope = parseEnvelope(valid({ type: 'orders:Order-Placed_v1.2', source: 'orders.order-service_1' }))
      expect(envelope.type).toBe('orders:Order-Placed_v1.2')
      expect(envelope.source).toBe('orders.order-service_1')
    })

    it('accepts keys of any characters', () => {
      expect(parseEnvelope(valid({ key: 'tenant/42 · post #7' })).key).toBe('tenant/42 · post #7')
    })

    it.each([
      ['id', 'x'.repeat(100)],
      ['type', 'T'.repeat(200)],
      ['source', 's'.repeat(200)],
      ['key', 'k'.repeat(200)],
    ])('accepts %s at its longest', (field, value) => {
      expect(parseEnvelope(valid({ [field]: value }))[field as keyof Envelope]).toBe(value)
    })

    it.each(['2026-01-01T12:00:00Z', '2026-01-01T12:00:00.123456Z', '2026-01-01T13:00:00+01:00'])(
      'accepts occurredAt %j',
      (occurredAt) => {
        expect(parseEnvelope(valid({ occurredAt })).occurredAt).toBe(occurredAt)
      },
    )
  })

  describe('extra fields', () => {
    it('are dropped at the top level', () => {
      const envelope = parseEnvelope(valid({ extra: 'x', password: 'secret', tenant: 7 }))
      expect(Object.keys(envelope).sort()).toEqual(['data', 'id', 'key', 'meta', 'occurredAt', 'position', 'source', 'type', 'version'])
      expect(envelope).not.toHaveProperty('extra')
      expect(envelope).not.toHaveProperty('password')
    })

    it('cannot set the prototype of the result through a "__proto__" key', () => {
      const input = JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(valid()).slice(1)}`) as unknown
      const envelope = parseEnvelope(input)
      expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype)
      expect((envelope as unknown as Record<string, unknown>).polluted).toBeUndefined()
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })

  describe('a malformed envelope is refused with MalformedEnvelope (MALFORMED_ENVELOPE)', () => {
    it('is a validation error, so a consumer dead-letters it at once', () => {
      const error = rejectionOf(null)
      expect(error).toBeInstanceOf(TidingsError)
      expect(error.code).toBe('MALFORMED_ENVELOPE')
      expect(error.kind).toBe('validation')
      expect(error.name).toBe('MalformedEnvelope')
    })

    it.each([
      ['null', null],
      ['undefined', undefined],
      ['a string', JSON.stringify(valid())],
      ['a number', 42],
      ['a boolean', true],
      ['an array', [valid()]],
    ])('when the input is %s', (_label, input) => {
      expectRejected(input, 'not an object')
    })

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['longer than 100 characters', 'x'.repeat(101)],
      ['a number', 42],
      ['null', null],
      ['an object', { id: 'x' }],
    ])('when id is %s', (_label, id) => {
      expectRejected(id === undefined ? without('id') : valid({ id }), 'id')
    })

    describe.each(['type', 'source'])('when %s', (field) => {
      it.each([
        ['missing', undefined],
        ['empty', ''],
        ['longer than 200 characters', 'a'.repeat(201)],
        ['starting with a dot', '.board'],
        ['starting with a dash', '-board'],
        ['containing a space', 'board post'],
        ['containing a slash', 'board/post'],
        ['containing a non-ASCII letter', 'b\u00f6ard'],
        ['ending in a newline', 'board\n'],
        ['containing SQL', "board'; DROP TABLE outbox; --"],
        ['a number', 7],
        ['null', null],
        ['an array', ['board.post']],
      ])('is %s', (_label, value) => {
        expectRejected(value === undefined ? without(field) : valid({ [field]: value }), field)
      })
    })

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['longer than 200 characters', 'k'.repeat(201)],
      ['a number', 1],
      ['null', null],
      ['an object', { id: 'post-1' }],
    ])('when key is %s', (_label, key) => {
      expectRejected(key === undefined ? without('key') : valid({ key }), 'key')
    })

    it.each([
      ['a numeric string', '3'],
      ['a fraction', 1.5],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['beyond the safe integers', 2 ** 53],
      ['a boolean', true],
      ['a bigint', 3n],
      ['an object', { v: 3 }],
    ])('when version is %s', (_label, version) => {
      expectRejected(valid({ version }), 'version')
    })

    it.each([
      ['a leading zero', '01-2'],
      ['a missing seq', '1-'],
      ['a missing xid', '-1'],
      ['a 21-digit xid', `${'1'.padEnd(21, '0')}-1`],
      ['the empty string', ''],
      ['SQL injection', "1-2'; DROP TABLE outbox; --"],
      ['a number', 745],
      ['null', null],
    ])('when position is %s', (_label, position) => {
      expectRejected(valid({ position }), 'position')
    })

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['not a date', 'yesterday-ish'],
      ['an impossible month', '2026-13-01T00:00:00Z'],
      ['a number', 1767268800000],
      ['a Date object', new Date('2026-01-01T12:00:00Z')],
      ['null', null],
      ['a valid date with a huge tail', `2026-01-01T12:00:00.000Z${' '.repeat(100_000)}`],
      ['a huge string', '2'.repeat(1_000_000)],
    ])('when occurredAt is %s', (_label, occurredAt) => {
      expectRejected(occurredAt === undefined ? without('occurredAt') : valid({ occurredAt }), 'occurredAt')
    })

    it('when data is missing', () => {
      expectRejected(without('data'), 'data')
    })

    it.each([
      ['a string', 'c-1'],
      ['a number', 1],
      ['true', true],
      ['an array', [{ correlationId: 'c-1' }]],
    ])('when meta is %s', (_label, meta) => {
      expectRejected(valid({ meta }), 'meta')
    })

    it('names the first bad field when several are bad', () => {
      expect(rejectionOf(valid({ id: '', type: '', key: '' })).message).toBe('Malformed envelope: id')
      expect(rejectionOf(valid({ type: '', key: '' })).message).toBe('Malformed envelope: type')
    })
  })

  describe('fixed defects', () => {
    // Date.parse is lenient: V8 reads "hello 2020", "1" and "-1" as dates, and rolls 30 February over to
    // 2 March. The contract says ISO-8601, and the consumer stores occurredAt as a timestamptz checkpoint,
    // so such a message fails later, in SQL, on every retry instead of being refused here.
    it.each(['hello 2020', '1', '-1', 'a 1', '2026-02-30T00:00:00Z'])('rejects the non-ISO occurredAt %j', (occurredAt) => {
      expectRejected(valid({ occurredAt }), 'occurredAt')
    })

    // meta is passed through as it came: any type in any field, any size, any extra key.
    it('rejects meta fields that are not strings', () => {
      expectRejected(valid({ meta: { correlationId: { $gt: '' }, causationId: 42 } }), 'meta')
    })

    it('rejects oversized meta strings', () => {
      expectRejected(valid({ meta: { traceparent: 'x'.repeat(1_000_000) } }), 'meta')
    })

    // A consumer compares these with its checkpoint: a value that is no position failed every attempt,
    // the dead letter's too, and stalled the partition.
    it.each(['sourcePosition', 'previousInPartition'])('rejects a meta.%s that is not a position', (key) => {
      expectRejected(valid({ meta: { [key]: 'soon' } }), `meta.${key}`)
      expect(parseEnvelope(valid({ meta: { [key]: '12-3' } })).meta).toStrictEqual({ [key]: '12-3' })
    })

    // meta.after holds consistency tokens a consumer waits for: one it cannot read could hold a key for ever.
    it('keeps a meta.after of tokens and rejects one that is not a list of at most 16 tokens', () => {
      expect(parseEnvelope(valid({ meta: { after: ['attr@12-3', 'board.post@0'] } })).meta).toStrictEqual({ after: ['attr@12-3', 'board.post@0'] })
      for (const after of ['attr@12-3', [42], ['attr'], ['@1-2'], ['attr@soon'], Array.from({ length: 17 }, (_, i) => `f${i}@1-1`), ['x'.repeat(300) + '@1-1']]) {
        expectRejected(valid({ meta: { after } }), 'meta.after')
      }
    })

    it('drops unknown meta fields', () => {
      expect(parseEnvelope(valid({ meta: { correlationId: 'c-1', injected: 'x' } })).meta).toStrictEqual({ correlationId: 'c-1' })
    })
  })
})
