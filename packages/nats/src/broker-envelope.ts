import { MalformedEnvelope, parseEnvelope, type Envelope, type Position } from '@tidings/core'

/** The type the message processor dead-letters at once (`MALFORMED_TYPE` in `@tidings/postgres`). */
export const MALFORMED_TYPE = 'tidings.Malformed'

/** Raw text kept in a malformed envelope is cut to this many characters. */
const RAW_LIMIT = 64 * 1024

/**
 * PostgreSQL stores neither NUL nor a lone UTF-16 surrogate in jsonb: an envelope carrying one (escaped in
 * its JSON) would fail the inbox and the dead-letter insert alike, forever, so it counts as malformed.
 */
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/
const ESCAPED_LONE_SURROGATE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i

const decoder = new TextDecoder()

/**
 * A message read from a partition as the envelope a consumer handles: `position` is the broker's, and the
 * producer's own position moves to `meta.sourcePosition`. A message that is not a valid envelope becomes
 * a `tidings.Malformed` stand-in at the same position (its id stable, so redelivery dedupes), which the
 * consumer dead-letters and moves past, instead of stalling on it.
 */
export function envelopeOf(data: Uint8Array, position: Position, source: string, receivedAt: Date): Envelope {
  const text = decoder.decode(data)
  let parsed: unknown
  try {
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new MalformedEnvelope('not JSON')
    }
    if (ESCAPED_NUL.test(text) || ESCAPED_LONE_SURROGATE.test(text)) throw new MalformedEnvelope('a character PostgreSQL cannot store')
    const envelope = parseEnvelope(parsed)
    const meta = { ...envelope.meta }
    if (envelope.position !== undefined) meta.sourcePosition = envelope.position
    return { ...envelope, position, meta }
  } catch (error) {
    if (!(error instanceof MalformedEnvelope)) throw error
    return malformed(source, position, text, parsed, error.message, receivedAt)
  }
}

/** When the first unread message occurred: its envelope's `occurredAt`, else when the broker stored it. */
export function occurredAtOf(data: Uint8Array, storedAt: Date): Date {
  try {
    const occurredAt = (JSON.parse(decoder.decode(data)) as { occurredAt?: unknown } | null)?.occurredAt
    const time = typeof occurredAt === 'string' ? Date.parse(occurredAt) : Number.NaN
    return Number.isNaN(time) ? storedAt : new Date(time)
  } catch {
    return storedAt
  }
}

function malformed(source: string, position: Position, text: string, parsed: unknown, reason: string, receivedAt: Date): Envelope {
  const r = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
  const occurredAt = typeof r.occurredAt === 'string' && !Number.isNaN(Date.parse(r.occurredAt)) ? r.occurredAt : receivedAt.toISOString()
  const key = typeof r.key === 'string' && r.key.length > 0 && r.key.length <= 200 && storable(r.key) ? r.key : 'malformed'
  return {
    id: `malformed:${source}:${position}`,
    type: MALFORMED_TYPE,
    source,
    key,
    position,
    occurredAt,
    data: { reason, raw: rawText(text) },
    meta: {},
  }
}

/** The message as text, storable and bounded: NULs replaced, cut to RAW_LIMIT without halving a surrogate pair. */
function rawText(text: string): string {
  let head = text.replaceAll('\u0000', '\uFFFD')
  if (head.length > RAW_LIMIT) {
    head = head.slice(0, RAW_LIMIT)
    if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1)
    head += '…'
  }
  return head
}

function storable(value: string): boolean {
  return !value.includes('\u0000') && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)
}
