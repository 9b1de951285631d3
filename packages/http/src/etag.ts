import { createHash } from 'node:crypto'

/** A strong validator of a body (its bytes, or a string as UTF-8): the first 128 bits of its SHA-1, quoted (RFC 9110 §8.8.3). */
export function etagOf(body: string | Uint8Array): string {
  return `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`
}

/**
 * Whether a request's `If-None-Match` names this validator, or is `*`: the client holds these bytes, and a
 * `304 Not Modified` answers it. Compared weakly, as the header asks (RFC 9110 §13.1.2): `W/` is ignored.
 */
export function holdsCurrent(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim()
    return (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === etag
  })
}
