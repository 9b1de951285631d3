import type { Envelope } from './envelope'
import { parseEnvelope } from './envelope-parser'
import { MalformedEnvelope } from './errors'
import type { Position } from './position'

/** The type a consumer dead-letters at once: what came in was not an envelope it could handle. */
export const MALFORMED_TYPE = 'tidings.Malformed'

/** Raw text kept in a malformed envelope is cut to this many characters. */
const RAW_LIMIT = 64 * 1024

/** Half of a UTF-16 surrogate pair without the other half: jsonb refuses it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

export interface BrokerMessage {
  /** The message body: the envelope as JSON; undefined when the message has none. */
  text: string | undefined
  /** Shown in the stand-in when there is no body (e.g. the message's other fields). */
  raw?: string
  /** Where the message sits on the broker: the envelope's position from now on. */
  position: Position
  /** The producer's source (a malformed stand-in keeps it, so the consumer's dead letter names it). */
  producer: string
  /** The partition read (`source#p`): broker offsets are unique per partition, so stand-in ids name it. */
  partition: string
  receivedAt: Date
}

/**
 * A message read from a broker as the envelope a consumer handles: `position` is the broker's, and the
 * producer's own position moves to `meta.sourcePosition`. A message that is not a valid envelope becomes
 * a `tidings.Malformed` stand-in at the same position (its id stable, so a redelivery dedupes), which
 * the consumer dead-letters and moves past instead of stalling on it. PostgreSQL stores neither NUL nor a
 * lone surrogate in jsonb: such an envelope would fail the inbox and the dead-letter insert alike, forever,
 * so it counts as malformed too.
 */
export function envelopeFromBroker(message: BrokerMessage): Envelope {
  const { text, position } = message
  let parsed: unknown
  try {
    if (text === undefined) throw new MalformedEnvelope('no body')
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new MalformedEnvelope('not JSON')
    }
    if (!storableDeep(parsed)) throw new MalformedEnvelope('a character PostgreSQL cannot store')
    const envelope = parseEnvelope(parsed)
    const meta = { ...envelope.meta }
    if (envelope.position !== undefined) meta.sourcePosition = envelope.position
    return { ...envelope, position, meta }
  } catch (error) {
    if (!(error instanceof MalformedEnvelope)) throw error
    return malformed(message, parsed, error.message)
  }
}

/** When a message occurred: its envelope's `occurredAt`, else when the broker stored it. */
export function occurredAtOf(text: string | undefined, storedAt: Date): Date {
  try {
    const occurredAt = (JSON.parse(text ?? 'null') as { occurredAt?: unknown } | null)?.occurredAt
    const time = typeof occurredAt === 'string' ? Date.parse(occurredAt) : Number.NaN
    if (!Number.isNaN(time)) return new Date(time)
  } catch {
    // Not an envelope: when it was stored will do.
  }
  return storedAt
}

function malformed({ text, raw, position, producer, partition, receivedAt }: BrokerMessage, parsed: unknown, reason: string): Envelope {
  const r = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
  const occurredAt = typeof r.occurredAt === 'string' && !Number.isNaN(Date.parse(r.occurredAt)) ? r.occurredAt : receivedAt.toISOString()
  const key = typeof r.key === 'string' && r.key.length > 0 && r.key.length <= 200 && storable(r.key) ? r.key : 'malformed'
  return {
    id: `malformed:${partition}:${position}`,
    type: MALFORMED_TYPE,
    source: producer,
    key,
    position,
    occurredAt,
    data: { reason, raw: rawText(text ?? raw ?? '') },
    meta: {},
  }
}

/** The message as text, storable and bounded: NULs and lone surrogates replaced, cut to RAW_LIMIT. */
function rawText(text: string): string {
  let head = text.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD')
  if (head.length > RAW_LIMIT) {
    head = head.slice(0, RAW_LIMIT)
    if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1)
    head += '…'
  }
  return head
}

function storable(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value)
}

function storableDeep(value: unknown): boolean {
  if (typeof value === 'string') return storable(value)
  if (Array.isArray(value)) return value.every(storableDeep)
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([k, v]) => storable(k) && storableDeep(v))
  return true
}
