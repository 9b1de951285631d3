import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { InvalidPosition, TidingsError } from './errors'
import {
  comparePositions,
  formatPosition,
  formatSession,
  formatToken,
  isPosition,
  MAX_SESSION_FEEDS,
  mergeToken,
  parseSession,
  parseSessionLeniently,
  parsePosition,
  parseToken,
  START,
  type FeedPoint,
} from './position'

const TWO_POW_53 = 2n ** 53n
const UINT64_MAX = 2n ** 64n - 1n
const INT64_MAX = 2n ** 63n - 1n

/** Strings that are not positions; each must be refused by isPosition, parsePosition and comparePositions. */
const MALFORMED: ReadonlyArray<readonly [string, string]> = [
  ['a leading zero in xid', '01-2'],
  ['a leading zero in seq', '1-02'],
  ['a missing seq', '1-'],
  ['a missing xid', '-1'],
  ['a bare number other than 0', '1'],
  ['a double zero', '00'],
  ['a negative xid', '-1-2'],
  ['a negative seq', '1--2'],
  ['a plus sign', '+1-2'],
  ['three parts', '1-2-3'],
  ['a colon separator', '1:2'],
  ['an underscore separator', '1_2'],
  ['a decimal point', '1.0-2'],
  ['an exponent', '1e3-2'],
  ['hexadecimal', '0x1-2'],
  ['a leading space', ' 1-2'],
  ['a trailing space', '1-2 '],
  ['a trailing newline', '1-2\n'],
  ['a leading newline', '\n1-2'],
  ['a NUL byte', '1-2\u0000'],
  ['full-width digits', '\uff11-\uff12'],
  ['Arabic-Indic digits', '\u0661-\u0662'],
  ['a 21-digit xid', `${'1'.padEnd(21, '0')}-1`],
  ['a 21-digit seq', `1-${'1'.padEnd(21, '0')}`],
  ['a 21-digit zero-padded xid', `${'0'.repeat(20)}1-1`],
  ['SQL injection after a valid position', "1-2'; DROP TABLE outbox; --"],
  ['SQL injection before a valid position', "' OR 1=1 --1-2"],
  ['a boolean SQL tail', '1-2 OR 1=1'],
  ['a comment', '1-2/**/'],
  ['a query-string tail', '1-2&limit=100000'],
  ['a JSON value', '{"xid":1,"seq":2}'],
  ['the word null', 'null'],
  ['the word undefined', 'undefined'],
  ['a very long string', '9'.repeat(10_000)],
]

describe('parsePosition', () => {
  it('reads "xid-seq" as two bigints', () => {
    expect(parsePosition('745-12')).toEqual({ xid: 745n, seq: 12n })
  })

  it('reads START ("0") as the origin', () => {
    expect(START).toBe('0')
    expect(parsePosition(START)).toEqual({ xid: 0n, seq: 0n })
  })

  it('reads the empty string (an empty ?after=) as the origin', () => {
    expect(parsePosition('')).toEqual({ xid: 0n, seq: 0n })
  })

  it('reads "0-0" as the origin and zero in either half', () => {
    expect(parsePosition('0-0')).toEqual({ xid: 0n, seq: 0n })
    expect(parsePosition('0-7')).toEqual({ xid: 0n, seq: 7n })
    expect(parsePosition('7-0')).toEqual({ xid: 7n, seq: 0n })
  })

  it('keeps every digit of values beyond 2^53', () => {
    const value = `${TWO_POW_53 + 1n}-${TWO_POW_53 + 3n}`
    expect(parsePosition(value)).toEqual({ xid: 9007199254740993n, seq: 9007199254740995n })
  })

  it('accepts 20-digit values such as the largest xid8', () => {
    expect(parsePosition(`${UINT64_MAX}-${INT64_MAX}`)).toEqual({ xid: UINT64_MAX, seq: INT64_MAX })
  })

  it.each(MALFORMED)('rejects %s with InvalidPosition', (_label, value) => {
    given(value).when(parsePosition).thenThrows(InvalidPosition, 'INVALID_POSITION')
  })

  it('reports the failure as a validation error that quotes a bounded part of the value', () => {
    const value = `1-2${'x'.repeat(500)}`
    let caught: unknown
    try {
      parsePosition(value)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(TidingsError)
    const error = caught as InvalidPosition
    expect(error.kind).toBe('validation')
    expect(error.name).toBe('InvalidPosition')
    expect(error.message).toBe(`Not a feed position: ${JSON.stringify(value.slice(0, 80))}`)
    expect(error.message.length).toBeLessThan(120)
  })
})

describe('formatPosition', () => {
  it('writes "xid-seq"', () => {
    expect(formatPosition({ xid: 745n, seq: 12n })).toBe('745-12')
  })

  it('writes the origin as START', () => {
    expect(formatPosition({ xid: 0n, seq: 0n })).toBe(START)
  })

  it('writes a zero in only one half in full', () => {
    expect(formatPosition({ xid: 0n, seq: 3n })).toBe('0-3')
    expect(formatPosition({ xid: 3n, seq: 0n })).toBe('3-0')
  })

  it('writes values beyond 2^53 without losing digits', () => {
    expect(formatPosition({ xid: UINT64_MAX, seq: TWO_POW_53 + 1n })).toBe('18446744073709551615-9007199254740993')
  })
})

describe('position round trip', () => {
  /** A small deterministic generator, so that a failure can be reproduced. */
  function* points(count: number): Generator<FeedPoint> {
    let state = 0x2545f4914f6cdd1dn
    const next = (): bigint => {
      state = (state * 6364136223846793005n + 1442695040888963407n) & UINT64_MAX
      return state
    }
    for (let i = 0; i < count; i++) {
      const bits = BigInt(i % 64) + 1n
      yield { xid: next() & ((1n << bits) - 1n), seq: next() >> BigInt((i % 63) + 1) }
    }
  }

  it('parse(format(p)) gives p back for values of every size (xid up to 2^64 - 1, seq up to 2^63 - 1)', () => {
    for (const point of points(2000)) {
      const text = formatPosition(point)
      expect(isPosition(text)).toBe(true)
      expect(parsePosition(text)).toEqual(point)
    }
  })

  it('format(parse(s)) gives s back for canonical strings', () => {
    for (const text of ['0', '1-1', '0-1', '1-0', '745-12', `${TWO_POW_53 + 1n}-1`, `${UINT64_MAX}-${INT64_MAX}`]) {
      expect(formatPosition(parsePosition(text))).toBe(text)
    }
  })

  it('normalises "0-0" to START', () => {
    expect(formatPosition(parsePosition('0-0'))).toBe(START)
  })
})

describe('comparePositions', () => {
  it('orders by xid first', () => {
    expect(comparePositions('1-900', '2-1')).toBe(-1)
    expect(comparePositions('2-1', '1-900')).toBe(1)
  })

  it('orders by seq within one xid', () => {
    expect(comparePositions('5-1', '5-2')).toBe(-1)
    expect(comparePositions('5-2', '5-1')).toBe(1)
  })

  it('compares numerically, not as text', () => {
    expect(comparePositions('9-1', '10-1')).toBe(-1)
    expect(comparePositions('1-9', '1-10')).toBe(-1)
    expect(comparePositions('100-1', '20-1')).toBe(1)
  })

  it('gives 0 for equal positions', () => {
    expect(comparePositions('745-12', '745-12')).toBe(0)
  })

  it('treats START, "0-0" and "" as the same origin', () => {
    expect(comparePositions(START, '0-0')).toBe(0)
    expect(comparePositions('', START)).toBe(0)
  })

  it('puts START before every other position', () => {
    for (const p of ['0-1', '1-0', '1-1', `${UINT64_MAX}-${INT64_MAX}`]) {
      expect(comparePositions(START, p)).toBe(-1)
      expect(comparePositions(p, START)).toBe(1)
    }
  })

  it('tells apart values beyond 2^53 that are equal as JavaScript numbers', () => {
    const a = `${TWO_POW_53}-1`
    const b = `${TWO_POW_53 + 1n}-1`
    expect(Number(TWO_POW_53)).toBe(Number(TWO_POW_53 + 1n))
    expect(comparePositions(a, b)).toBe(-1)
    expect(comparePositions(b, a)).toBe(1)
    expect(comparePositions(`7-${TWO_POW_53 + 1n}`, `7-${TWO_POW_53}`)).toBe(1)
  })

  it('sorts a shuffled feed into feed order', () => {
    const ordered = [
      START,
      '0-5',
      '1-1',
      '1-2',
      '1-10',
      '2-3',
      '10-1',
      `${TWO_POW_53}-1`,
      `${TWO_POW_53 + 1n}-0`,
      `${TWO_POW_53 + 1n}-1`,
      `${UINT64_MAX}-${INT64_MAX}`,
    ]
    const shuffled = [ordered[6]!, ordered[0]!, ordered[9]!, ordered[3]!, ordered[10]!, ordered[1]!, ordered[8]!, ordered[4]!, ordered[2]!, ordered[7]!, ordered[5]!]
    expect([...shuffled].sort(comparePositions)).toEqual(ordered)
  })

  it('is antisymmetric', () => {
    const values = ['0', '1-1', '1-2', '2-1', `${TWO_POW_53 + 1n}-5`]
    for (const a of values) {
      for (const b of values) expect(comparePositions(a, b)).toBe(-comparePositions(b, a) || 0)
    }
  })

  it.each(MALFORMED)('throws InvalidPosition for %s on either side', (_label, value) => {
    expect(() => comparePositions(value, '1-1')).toThrow(InvalidPosition)
    expect(() => comparePositions('1-1', value)).toThrow(InvalidPosition)
  })
})

describe('isPosition', () => {
  it.each(['0', '0-0', '0-1', '1-0', '745-12', `${TWO_POW_53 + 1n}-1`, `${UINT64_MAX}-${INT64_MAX}`])('accepts %j', (value) => {
    expect(isPosition(value)).toBe(true)
  })

  it.each(MALFORMED)('rejects %s', (_label, value) => {
    expect(isPosition(value)).toBe(false)
  })

  it('rejects the empty string, although parsePosition reads it as START', () => {
    expect(isPosition('')).toBe(false)
  })

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 12],
    ['a bigint', 12n],
    ['an object', { xid: 1n, seq: 2n }],
    ['an array', ['1-2']],
  ])('rejects %s', (_label, value) => {
    expect(isPosition(value)).toBe(false)
  })
})

describe('consistency tokens', () => {
  describe('formatToken', () => {
    it('writes "source@position"', () => {
      expect(formatToken({ source: 'board.post', position: '745-12' })).toBe('board.post@745-12')
    })

    it('writes START as "@0"', () => {
      expect(formatToken({ source: 'board.post', position: START })).toBe('board.post@0')
    })
  })

  describe('parseToken', () => {
    it('reads the source and the position', () => {
      expect(parseToken('board.post@745-12')).toEqual({ source: 'board.post', position: '745-12' })
    })

    it.each([
      ['a dotted source', 'board.post', '745-12'],
      ['a dashed source', 'orders.order-status', '3-1'],
      ['several dots and dashes', 'my-app.read-side.v2', '1-1'],
      ['an underscore', 'board_query', '1-1'],
      ['upper case letters', 'Board.Post', '1-1'],
      ['a leading digit', '9lives', '1-1'],
      ['a one-character source', 'a', '1-1'],
      ['a 100-character source', 'a'.repeat(100), '1-1'],
      ['the START position', 'board.post', START],
      ['a position beyond 2^53', 'board.post', `${TWO_POW_53 + 1n}-${TWO_POW_53 + 1n}`],
    ])('round-trips a token with %s', (_label, source, position) => {
      const text = formatToken({ source, position })
      expect(parseToken(text)).toEqual({ source, position })
      expect(formatToken(parseToken(text))).toBe(text)
    })

    it.each([
      ['an empty string', ''],
      ['no @', 'board.post'],
      ['no source', '@1-2'],
      ['no position', 'board.post@'],
      ['a malformed position', 'board.post@01-2'],
      ['a 21-digit position', `board.post@${'1'.padEnd(21, '0')}-1`],
      ['a position with a trailing newline', 'board.post@1-2\n'],
      ['a source starting with a dot', '.board@1-2'],
      ['a source starting with a dash', '-board@1-2'],
      ['a source with a space', 'board post@1-2'],
      ['a source with a slash', 'board/post@1-2'],
      ['a source with an @', 'board@post@1-2'],
      ['a source with a non-ASCII letter', 'b\u00f6ard@1-2'],
      ['a 101-character source', `${'a'.repeat(101)}@1-2`],
      ['SQL injection in the source', "x'; DROP SCHEMA board CASCADE; --@1-2"],
      ['SQL injection in the position', "board.post@1-2'; DROP TABLE outbox; --"],
      ['a source with a newline', 'board\npost@1-2'],
      ['two tokens', 'board.post@1-2,orders.order@3-4'],
    ])('rejects %s with InvalidPosition', (_label, value) => {
      given(value).when(parseToken).thenThrows(InvalidPosition, 'INVALID_POSITION')
    })
  })
})

describe('fixed defects', () => {
  // The outbox stores `seq` as bigint (max 2^63 - 1) and `feed_xid` as xid8 (max 2^64 - 1). A 20-digit value
  // above those passes validation and then fails inside SQL (`$2::bigint` out of range): a 500, not a 400.
  it('rejects a seq above the bigint range (2^63 - 1)', () => {
    expect(isPosition(`1-${INT64_MAX + 1n}`)).toBe(false)
  })

  it('rejects an xid above the xid8 range (2^64 - 1)', () => {
    expect(isPosition(`${UINT64_MAX + 1n}-1`)).toBe(false)
  })

  it('parsePosition refuses 20-digit values that no feed can hold', () => {
    given('99999999999999999999-99999999999999999999').when(parsePosition).thenThrows(InvalidPosition, 'INVALID_POSITION')
  })
})

describe('token sessions', () => {
  it('keep the newest position per feed, in the order the feeds were first written', () => {
    expect(formatSession(parseSession('board.post@2-1, board.post@1-9,board.member@7-0'))).toBe('board.post@2-1,board.member@7-0')
    expect(formatSession(mergeToken(parseSession('board.post@2-1'), 'board.post@1-0'))).toBe('board.post@2-1')
    expect(formatSession(mergeToken(parseSession('board.post@2-1'), 'board.post@3-0'))).toBe('board.post@3-0')
    expect(formatSession(mergeToken(parseSession('board.post@2-1'), { source: 'board.comment', position: '10-2' }))).toBe('board.post@2-1,board.comment@10-2')
  })

  it('are strict where a server reads them: one malformed token or too many refuse the whole session', () => {
    for (const bad of ['board.post@2-1,nope', '@1-1', 'x@y', 'board.post@01-1', '']) expect(() => parseSession(bad), bad).toThrow(InvalidPosition)
    const many = Array.from({ length: MAX_SESSION_FEEDS + 1 }, (_, i) => `f${i}@1-1`)
    expect(parseSession(many.slice(0, MAX_SESSION_FEEDS).join(',')).size).toBe(MAX_SESSION_FEEDS)
    expect(() => parseSession(many.join(','))).toThrow(InvalidPosition)
  })

  it('are lenient where a client keeps them: what is malformed is dropped, not sent', () => {
    expect(formatSession(parseSessionLeniently('board.post@2-1, nope ,board.post@1-9,board.member@7-0,@1-1,x@y'))).toBe('board.post@2-1,board.member@7-0')
    expect(parseSessionLeniently('').size).toBe(0)
    expect(formatSession(parseSessionLeniently(',, board.post@3-0 ,'))).toBe('board.post@3-0')
    expect(formatSession(mergeToken(new Map(), 'garbage'))).toBe('')
  })

  it('hold at most MAX_SESSION_FEEDS feeds: a new feed beyond them is not kept, a known one still moves on', () => {
    let session = parseSessionLeniently(Array.from({ length: 40 }, (_, i) => `f${i}@1-1`).join(','))
    expect(session.size).toBe(MAX_SESSION_FEEDS)
    session = mergeToken(mergeToken(session, 'late@1-1'), 'f0@2-0')
    expect(session.has('late')).toBe(false)
    expect(session.get('f0')).toBe('2-0')
  })
})
