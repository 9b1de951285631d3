import { InvalidPosition } from './errors'

/**
 * A place in a producer's feed. Feeds are ordered by (transaction order, sequence): `xid` is the
 * transaction id the row sorts under and `seq` the row's sequence number. Written as "xid-seq";
 * "0" is the start of every feed.
 */
export interface FeedPoint {
  xid: bigint
  seq: bigint
}

export type Position = string

export const START: Position = '0'

const FORMAT = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/
/** The largest values the columns can hold: `xid8` is unsigned 64-bit, the sequence a signed `bigint`. */
const XID_MAX = 2n ** 64n - 1n
const SEQ_MAX = 2n ** 63n - 1n

function pointIn(value: string): FeedPoint | undefined {
  if (value === START || value === '') return { xid: 0n, seq: 0n }
  const match = FORMAT.exec(value)
  if (!match) return undefined
  const point = { xid: BigInt(match[1]!), seq: BigInt(match[2]!) }
  return point.xid <= XID_MAX && point.seq <= SEQ_MAX ? point : undefined
}

export function parsePosition(value: string): FeedPoint {
  const point = pointIn(value)
  if (!point) throw new InvalidPosition(value)
  return point
}

export function formatPosition(point: FeedPoint): Position {
  return point.xid === 0n && point.seq === 0n ? START : `${point.xid}-${point.seq}`
}

/** The greatest position that sorts before `position` (START has none before it and stays START). */
export function positionBefore(position: Position): Position {
  const { xid, seq } = parsePosition(position)
  if (seq > 0n) return formatPosition({ xid, seq: seq - 1n })
  if (xid > 0n) return formatPosition({ xid: xid - 1n, seq: SEQ_MAX })
  return START
}

export function comparePositions(a: Position, b: Position): number {
  const x = parsePosition(a)
  const y = parsePosition(b)
  if (x.xid !== y.xid) return x.xid < y.xid ? -1 : 1
  if (x.seq !== y.seq) return x.seq < y.seq ? -1 : 1
  return 0
}

export function isPosition(value: unknown): value is Position {
  return typeof value === 'string' && value !== '' && pointIn(value) !== undefined
}

/**
 * A consistency token names a feed and a position in it: "board.post@745-12". A query that is given one
 * waits until its read model has processed that feed up to that position.
 */
export interface ConsistencyToken {
  source: string
  position: Position
}

export function formatToken(token: ConsistencyToken): string {
  return `${token.source}@${token.position}`
}

export function parseToken(value: string): ConsistencyToken {
  const at = value.lastIndexOf('@')
  const source = value.slice(0, at)
  const position = value.slice(at + 1)
  if (at <= 0 || !isPosition(position) || !/^[a-z0-9][a-z0-9._-]{0,99}$/i.test(source)) {
    throw new InvalidPosition(value)
  }
  return { source, position }
}

/** At most this many feeds in one session: one per feed a client has written to is plenty. */
export const MAX_SESSION_FEEDS = 16

/**
 * A client's consistency session: the newest position its writes reached in each feed, sent back with its
 * reads as `source@position,…` so that a read sees all of them (also what its later writes depend on).
 */
export type TokenSession = ReadonlyMap<string, Position>

/**
 * A session as a request carries it. Strict, for servers: a malformed token, or more than
 * `MAX_SESSION_FEEDS` tokens, is `InvalidPosition`. Several tokens of one feed keep the newest.
 */
export function parseSession(value: string): TokenSession {
  const parts = value.split(',').map((part) => part.trim())
  if (parts.length > MAX_SESSION_FEEDS) throw new InvalidPosition(`${parts.length} tokens (at most ${MAX_SESSION_FEEDS})`)
  return parts.reduce<TokenSession>((session, part) => mergeToken(session, parseToken(part)), new Map())
}

/**
 * A session kept by a client (a cookie, a test client): whatever is malformed is dropped rather than
 * sent, since a server would refuse the whole read for it; a bad session costs read-your-writes, never the read.
 */
export function parseSessionLeniently(value: string): TokenSession {
  let session: TokenSession = new Map()
  for (const part of value.split(',')) {
    // Empty parts (no cookie at all, a stray comma) are skipped before parsing, which would throw and catch.
    const trimmed = part.trim()
    const token = trimmed === '' ? undefined : tokenIn(trimmed)
    if (token) session = mergeToken(session, token)
  }
  return session
}

export function formatSession(session: TokenSession): string {
  return [...session].map(([source, position]) => formatToken({ source, position })).join(',')
}

/** The session's tokens, one per feed. */
export function sessionTokens(session: TokenSession): ConsistencyToken[] {
  return [...session].map(([source, position]) => ({ source, position }))
}

/**
 * The session with one more write's token merged in: per feed, the newer position wins. A malformed token
 * (a string a server sent) changes nothing — the write happened, its read may just not wait for it — and
 * nor does a new feed beyond `MAX_SESSION_FEEDS`.
 */
export function mergeToken(session: TokenSession, token: ConsistencyToken | string): TokenSession {
  const parsed = typeof token === 'string' ? tokenIn(token) : token
  if (!parsed) return session
  const known = session.get(parsed.source)
  if (known === undefined ? session.size >= MAX_SESSION_FEEDS : comparePositions(parsed.position, known) <= 0) return session
  return new Map(session).set(parsed.source, parsed.position)
}

function tokenIn(value: string): ConsistencyToken | undefined {
  try {
    return parseToken(value)
  } catch {
    return undefined
  }
}
