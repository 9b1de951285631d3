import fc from 'fast-check'

const FEEDS = ['identity.member', 'board.post', 'board.comment', 'orders.order', 'orders.payment', 'orders.delivery']

/**
 * Consistency tokens (`Tidings-Position`, `?position=`): real-looking ones (`0`, small positions that have
 * passed, far-future ones that make a read wait its bound and a command answer 503 NOT_CAUGHT_UP), sessions
 * of several, and malformed ones.
 */
export const positionToken: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...FEEDS), fc.constantFrom('0', '1-1', '2-1')).map(([feed, p]) => `${feed}@${p}`), weight: 4 },
  { arbitrary: fc.tuple(fc.constantFrom(...FEEDS), fc.constantFrom('999999999-1', '18446744073709551615-1', '99999999999999999999999-1')).map(([feed, p]) => `${feed}@${p}`), weight: 1 },
  { arbitrary: fc.array(fc.tuple(fc.constantFrom(...FEEDS, 'no.such'), fc.constantFrom('0', '1-1')), { minLength: 2, maxLength: 20 }).map((ts) => ts.map(([f, p]) => `${f}@${p}`).join(',')), weight: 2 },
  {
    arbitrary: fc.constantFrom('', '@', 'board.post', 'board.post@', '@1-1', 'board.post@x', 'board.post@1-', 'board.post@-1', 'board.post@1-1-1', 'board.post@0x1-1', 'board.post@1e309-1', 'board.post@ 1-1', 'no.such@1-1', ',', ',,,', 'board.post@1-1,', 'board.post@\u00ff', '\u00e9@1-1', 'board.post@1-1;board.comment@1-1'),
    weight: 3,
  },
)

/** Client addresses for the sign-in limits (the server trusts one proxy): a small pool, and garbage. */
export const forwardedFor: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => `198.51.100.${n}`), weight: 8 },
  { arbitrary: fc.ipV6(), weight: 1 },
  {
    arbitrary: fc.constantFrom('', ' ', ',', 'unknown', '999.1.1.1', '1.2.3', '::ffff:198.51.100.1', 'fe80::1%eth0', '[::1]:80', '198.51.100.1, 203.0.113.9', ', , ,', '1.1.1.1,'.repeat(300), '\u00ff\u00fe', '-1', 'localhost', '0.0.0.0'),
    weight: 2,
  },
)

/** `Host` values that make a bad URL for whatever builds one from it. */
const oddHost = fc.constantFrom('evil.example', 'a b', '[::1', 'exa_mple:99999', '', ':', '127.0.0.1:0', '%00', 'x'.repeat(300), 'host\u00ff', '..', '[fe80::1%25eth0]', 'user@host')

const cookieValue = fc.oneof(
  fc.constantFrom('', '"', '"unterminated', ';', '=', '%', '%ZZ', '\u00ff', 'a'.repeat(4000), 'eyJhbGciOiJub25lIn0.e30.', '1.2.3', 'board.post@1-1,garbage', '9999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => s.replace(/[\r\n;]/g, '')),
)

/** Cookies a page or the console may get: the session cookies with nonsense in them, duplicates, junk. */
export const cookieHeader: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom('tidings_session', 'tidings_positions', 'tidings_console', '__Host-tidings_session', 'x', ''), cookieValue), { minLength: 1, maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('; '))

/**
 * Headers besides the route's own: consistency tokens, forwarded addresses, cookies, odd `Accept`,
 * `Host`, `Expect: 100-continue`, and headers with bytes that are not UTF-8.
 */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { arbitrary: fc.constant({}), weight: 3 },
  {
    arbitrary: fc
      .array(
        fc.oneof(
          positionToken.map((v) => ['tidings-position', v] as const),
          forwardedFor.map((v) => ['x-forwarded-for', v] as const),
          cookieHeader.map((v) => ['cookie', v] as const),
          fc.constantFrom('*/*', 'text/html', 'application/json', 'text/event-stream', '', '\u00ff', 'application/json;q=x').map((v) => ['accept', v] as const),
          oddHost.map((v) => ['host', v] as const),
          fc.constant(['expect', '100-continue'] as const),
          fc.string({ unit: 'binary-ascii', maxLength: 50 }).map((s) => ['x-junk', s.replace(/[^\t\x20-\x7e]/g, '')] as const),
          fc.uint8Array({ minLength: 1, maxLength: 20, min: 0x80, max: 0xff }).map((a) => ['x-latin1', Buffer.from(a).toString('latin1')] as const),
          fc.constantFrom('same-origin', 'cross-site', 'none', 'same-site').map((v) => ['sec-fetch-site', v] as const),
          fc.constantFrom('gzip', 'br', 'identity', 'x').map((v) => ['content-encoding', v] as const),
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map((entries) => Object.fromEntries(entries)),
    weight: 2,
  },
)
