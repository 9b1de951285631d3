import fc from 'fast-check'

/**
 * The garbage every route gets: strings and values that break naive code. None contains what the stack
 * trace check looks for (`    at `, `.ts:`, `node_modules`), so an echo of the input is never mistaken for one.
 */

/** A JSON number (or other token) written as it is, not as `JSON.stringify` would: `1e309`, `-0`, `1.0`. */
export class RawJson {
  constructor(readonly text: string) {}
}

export type Json = null | boolean | number | string | RawJson | Json[] | { [key: string]: Json }

/** JSON text of a value that may hold `RawJson` tokens anywhere. */
export function jsonText(value: Json | undefined): string {
  if (value instanceof RawJson) return value.text
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`
  return JSON.stringify(value) ?? 'null'
}

const NASTY_CONSTANTS = [
  '',
  ' ',
  '   \t  ',
  '\u0000',
  'a\u0000b',
  '\u0007bell',
  '\u001b[31mred',
  '\u007f',
  '\u0085',
  '\u2028\u2029',
  'line\nbreak',
  'cr\r\nlf',
  '\u202Eevil\u202C',
  '\u2066isolate\u2069',
  '\u200B',
  '\u200D\u200D',
  '\uFEFFbom',
  '\u00AD',
  'e\u0301',
  'a' + '\u0301'.repeat(300),
  '\uD800',
  '\uDC00',
  'x\uDBFFy',
  '\uD83D\uDE00',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  'עברית ومرحبا',
  'ＡＢＣ',
  'İı',
  'ß',
  '\uFFFD',
  '\uFFFF',
  '\u{10FFFF}',
  "'; DROP TABLE members; --",
  "' OR '1'='1",
  '$1',
  '%s%s%n',
  '%00',
  '%2e%2e%2f',
  '../../../etc/passwd',
  '..\\..\\windows',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '{{7*7}}',
  '${7*7}',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'true',
  '[]',
  '{}',
  'ann@example.com',
  'a@b',
  '@',
  'a@b.c',
  'x'.repeat(255) + '@example.com',
  '0',
  '-1',
  '9007199254740993',
  '0x1F',
  '1_000',
  ' 12 ',
  '１２',
] as const

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
const bidi = fc.constantFrom('\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C')
const control = fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f).map((c) => String.fromCharCode(c))

/** Unicode edge cases: lone surrogates, bidi controls, C0/C1 controls, NUL, combining marks, astral planes. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_CONSTANTS), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: fc.oneof(loneSurrogate, bidi, control, fc.constant('\u0000'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 30 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.constantFrom(1_000, 20_001, 70_000).chain((n) => fc.constantFrom('a', 'é', '𝔘', ' ', '\u0301').map((c) => c.repeat(n))), weight: 1 },
)

/** Numbers JavaScript and PostgreSQL disagree about, as JSON tokens (some not valid JSON at all). */
export const oddNumber: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1.5, 0.1, 1e21, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE),
  fc.constantFrom(
    ...['1e309', '-1e309', '-0', '1E2', '1e-400', '9007199254740993', '123456789012345678901234567890', '0.0000001', '1.0', '-0.0', 'NaN', 'Infinity', '-Infinity', '+1', '01', '.5', '0x10'].map(
      (t) => new RawJson(t),
    ),
  ),
  fc.double().filter(Number.isFinite),
  fc.integer(),
)

/** A JSON value of the wrong kind: what a field gets when the client sends nonsense. */
export const garbageValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    oddNumber,
    nastyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', '')), tie('value'), { maxKeys: 4 }),
  ),
})).value

/** Nesting deep enough to blow a recursive parser or validator: `[[[[…]]]]` or `{"a":{"a":…}}`. */
export const deepJson: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(64, 1_000, 10_000, 100_000), fc.boolean())
  .map(([depth, arrays]) => new RawJson(arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)))

/** Bytes that are not UTF-8: overlong forms, encoded surrogates, stray continuations, truncated sequences. */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(
    ...[[0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xfe, 0xff], [0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]].map((b) => Buffer.from(b)),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 6, min: 0x80, max: 0xff }).map((a) => Buffer.from(a)),
)

/** Body bytes: JSON text, perhaps with invalid UTF-8 spliced in, a BOM, a cut end or trailing junk. */
export function mangledBytes(text: string): fc.Arbitrary<Buffer> {
  const bytes = Buffer.from(text, 'utf8')
  return fc.oneof(
    { arbitrary: fc.constant(bytes), weight: 12 },
    {
      arbitrary: fc.tuple(invalidUtf8, fc.nat()).map(([bad, at]) => {
        const cut = bytes.length === 0 ? 0 : at % bytes.length
        return Buffer.concat([bytes.subarray(0, cut), bad, bytes.subarray(cut)])
      }),
      weight: 2,
    },
    { arbitrary: fc.constant(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])), weight: 1 },
    { arbitrary: fc.nat().map((at) => bytes.subarray(0, bytes.length === 0 ? 0 : at % bytes.length)), weight: 1 },
    { arbitrary: fc.constantFrom(',', '}', ' garbage', '\u0000', '/* c */').map((junk) => Buffer.concat([bytes, Buffer.from(junk)])), weight: 1 },
    { arbitrary: fc.constant(Buffer.from(text, 'utf16le')), weight: 1 },
  )
}

/** Not JSON at all, or JSON that is not an object. */
export const nonObjectJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', 'null', 'true', '0', '"text"', '[]', '[{}]', '{', '}', '{"a":}', "{'a':1}", '{"a":1,}', '{a:1}', 'NaN', '\u0000', 'undefined', '{"a":1}{"b":2}'),
  garbageValue.map(jsonText),
  deepJson.map((d) => d.text),
)

/** Content types a JSON route may get: mostly right, sometimes not at all. */
export const jsonContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 14 },
  {
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'application/problem+json',
      'application/merge-patch+json',
      'application/jsonx',
      'text/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '',
      ';',
      'application/json;;;',
      'application/json\u00ff',
      '*/*',
    ),
    weight: 4,
  },
)

/** Methods besides the route's own: Node's parser knows them all, so they reach the app. */
export const oddMethod = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'LOCK', 'MKCOL', 'SEARCH', 'REPORT', 'MOVE', 'COPY')

/** The route's method most of the time. */
export function methodFor(method: string): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: fc.constant(method), weight: 12 }, { arbitrary: oddMethod, weight: 1 })
}

/** A path segment for an id: the expected kind, or something that must not reach the database as an id. */
export function idSegment(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 8 },
    { arbitrary: fc.uuid(), weight: 3 },
    { arbitrary: fc.constantFrom(...valid).map((id) => id.toUpperCase()), weight: 1 },
    { arbitrary: fc.constantFrom(...valid).map((id) => id + 'x'), weight: 1 },
    { arbitrary: fc.constantFrom('0', '-1', '1e309', 'null', 'undefined', '%00', '%2F', '..', '.', '%2e%2e', '%C0%AF', '%ZZ', '%', '%E2%80%AE', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '%20', 'x'.repeat(3000)), weight: 3 },
    { arbitrary: nastyString.map(encodeSegment).map(capForUrl), weight: 2 },
  )
}

/**
 * Node's server refuses a request line and headers over 16 KiB itself (a bare 431, before the app), so
 * what goes into a URL or a header is kept well under that: the app is what is being fuzzed.
 */
export const capForUrl = (text: string): string => (text.length > 4000 ? text.slice(0, 4000) : text)

/** Percent-encodes a segment the way a lenient client would; lone surrogates are written as raw %ED%A0%80-style bytes. */
export function encodeSegment(value: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    return [...value].map((ch) => (ch.length === 1 && ch >= '\uD800' && ch <= '\uDFFF' ? '%ED%A0%80' : encodeURIComponent(ch))).join('')
  }
}

/** A query string from key/value pairs, values encoded (or deliberately not, for `%` junk). */
export function queryString(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return ''
  return '?' + pairs.map(([k, v]) => `${capForUrl(encodeSegment(k))}=${v.startsWith('\u0001raw:') ? v.slice(5) : capForUrl(encodeSegment(v))}`).join('&')
}

/** A query value written as it is (not encoded): `%`, `%ZZ`, `%C0%AF`. */
export const rawQueryValue = (text: string): string => `\u0001raw:${text}`

/** Numbers as query strings: valid ones and the ones `Number()` reads too generously. */
export function numberParam(valid: readonly number[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...valid.map(String)), weight: 4 },
    { arbitrary: fc.constantFrom('0', '-1', '-0', '1e309', '1e2', 'NaN', 'Infinity', '0x10', ' 5', '5 ', '5.5', '99999999999999999999', '', '+5', '٥', '1_0', '0b11', rawQueryValue('%'), rawQueryValue('%ZZ'), rawQueryValue('%C0%AF'), rawQueryValue('%00')), weight: 3 },
    { arbitrary: fc.integer().map(String), weight: 1 },
  )
}
