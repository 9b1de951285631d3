import type { Envelope, EnvelopeMeta } from './envelope'
import { MalformedEnvelope } from './errors'
import { isPosition, MAX_SESSION_FEEDS, parseToken } from './position'

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/

/** Checks an envelope that came from outside the process (HTTP feed, broker) before any handler sees it. */
export function parseEnvelope(input: unknown): Envelope {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new MalformedEnvelope('not an object')
  const e = input as Record<string, unknown>
  if (typeof e.id !== 'string' || e.id.length === 0 || e.id.length > 100) throw new MalformedEnvelope('id')
  if (typeof e.type !== 'string' || !NAME.test(e.type)) throw new MalformedEnvelope('type')
  if (typeof e.source !== 'string' || !NAME.test(e.source)) throw new MalformedEnvelope('source')
  if (typeof e.key !== 'string' || e.key.length === 0 || e.key.length > 200) throw new MalformedEnvelope('key')
  if (e.version !== undefined && e.version !== null && !Number.isSafeInteger(e.version)) throw new MalformedEnvelope('version')
  if (e.position !== undefined && !isPosition(e.position)) throw new MalformedEnvelope('position')
  if (!isIsoTimestamp(e.occurredAt)) throw new MalformedEnvelope('occurredAt')
  if (!('data' in e)) throw new MalformedEnvelope('data')
  const envelope: Envelope = {
    id: e.id,
    type: e.type,
    source: e.source,
    key: e.key,
    occurredAt: e.occurredAt,
    data: e.data,
    meta: parseMeta(e.meta),
  }
  if (typeof e.version === 'number') envelope.version = e.version
  if (typeof e.position === 'string') envelope.position = e.position
  return envelope
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/

/** Only real ISO-8601 instants: `Date.parse` also takes '1' or '2026-02-30', which the database would refuse later. */
function isIsoTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const match = ISO.exec(value)
  if (!match) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
}

const META_KEYS = ['correlationId', 'causationId', 'traceparent', 'sourcePosition', 'previousInPartition'] as const
const POSITION_KEYS: ReadonlySet<string> = new Set(['sourcePosition', 'previousInPartition'])

function parseMeta(input: unknown): EnvelopeMeta {
  if (input === undefined || input === null) return {}
  if (typeof input !== 'object' || Array.isArray(input)) throw new MalformedEnvelope('meta')
  const meta: EnvelopeMeta = {}
  for (const key of META_KEYS) {
    const value = (input as Record<string, unknown>)[key]
    if (value === undefined) continue
    if (typeof value !== 'string' || value.length > 200) throw new MalformedEnvelope('meta')
    // Consumers compare these: one that is not a position could fail every attempt, the dead letter's too.
    if (POSITION_KEYS.has(key) && !isPosition(value)) throw new MalformedEnvelope(`meta.${key}`)
    meta[key] = value
  }
  const after = (input as Record<string, unknown>).after
  if (after !== undefined) meta.after = parseAfter(after)
  return meta
}

/** `meta.after`: at most one token per feed a session may hold, each a well-formed token (a consumer waits for them). */
function parseAfter(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_SESSION_FEEDS) throw new MalformedEnvelope('meta.after')
  for (const token of value) {
    if (typeof token !== 'string' || token.length > 200) throw new MalformedEnvelope('meta.after')
    try {
      parseToken(token)
    } catch {
      throw new MalformedEnvelope('meta.after')
    }
  }
  return [...(value as string[])]
}
