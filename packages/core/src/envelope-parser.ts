import type { Envelope } from './envelope'
import { MalformedEnvelope } from './errors'
import { isPosition } from './position'

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
  if (typeof e.occurredAt !== 'string' || Number.isNaN(Date.parse(e.occurredAt))) throw new MalformedEnvelope('occurredAt')
  if (!('data' in e)) throw new MalformedEnvelope('data')
  const meta = e.meta ?? {}
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new MalformedEnvelope('meta')
  const envelope: Envelope = {
    id: e.id,
    type: e.type,
    source: e.source,
    key: e.key,
    occurredAt: e.occurredAt,
    data: e.data,
    meta: meta as Envelope['meta'],
  }
  if (typeof e.version === 'number') envelope.version = e.version
  if (typeof e.position === 'string') envelope.position = e.position
  return envelope
}
