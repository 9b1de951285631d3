import { UnsupportedCharacter, type StoredDocument } from '@tidings/core'

const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/
/** JSON.stringify escapes a lone surrogate as \udXXX (a paired one stays raw). */
const ESCAPED_LONE_SURROGATE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i

/**
 * JSON text as the document store keeps it. Redis could hold NUL and lone surrogates, but PostgreSQL's
 * store refuses them, and a read model must not depend on which store it is rebuilt into: the same change
 * fails the same way (`UnsupportedCharacter`, kind validation) on both.
 */
export function storableJson(value: unknown, where: string): string {
  const json = JSON.stringify(value)
  if (json.includes('\\u0000') && ESCAPED_NUL.test(json)) throw new UnsupportedCharacter(where)
  if (json.includes('\\ud') && ESCAPED_LONE_SURROGATE.test(json)) throw new UnsupportedCharacter(where)
  return json
}

/** An id, source or field name: any text PostgreSQL could hold too. */
export function storableName(name: string, where: string): string {
  if (typeof name !== 'string') throw new TypeError(`${where}: a name must be a string`)
  storableJson(name, where)
  return name
}

/** Versions are compared in Lua as doubles: integers up to 2^53 compare exactly. */
export function storableVersion(version: number, where: string): string {
  if (!Number.isSafeInteger(version)) throw new RangeError(`${where}: a version must be a safe integer, not ${version}`)
  return String(version)
}

/** The fields a change sets, as `[name, JSON]`; fields set to `undefined` are left out, as JSON leaves them. */
export function fieldsOf(set: object, where: string): Array<[string, string]> {
  const fields: Array<[string, string]> = []
  for (const [name, value] of Object.entries(set)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue
    fields.push([storableName(name, where), storableJson(value, where)])
  }
  return fields
}

/**
 * A document's hash as stored (`f:<field>` JSON, `v:<source>` version, `at`, `removed`) as the port's
 * document; undefined for a missing document or a tombstone.
 */
export function storedDocument<D>(id: string, hash: Iterable<readonly [string, string]>): StoredDocument<D> | undefined {
  const body: string[] = []
  const versions: string[] = []
  let updatedAt: number | undefined
  for (const [name, value] of hash) {
    if (name.startsWith('f:')) body.push(`${JSON.stringify(name.slice(2))}:${value}`)
    else if (name.startsWith('v:')) versions.push(`${JSON.stringify(name.slice(2))}:${value}`)
    else if (name === 'at') updatedAt = Number(value)
    else if (name === 'removed') return undefined
  }
  if (updatedAt === undefined) return undefined
  // Parsed as JSON, not assigned key by key: a field named __proto__ is then a field like any other.
  return { id, body: JSON.parse(`{${body.join(',')}}`) as D, versions: JSON.parse(`{${versions.join(',')}}`) as Record<string, number>, updatedAt: new Date(updatedAt) }
}

/** `[name, value, name, value, …]`, as HGETALL answers inside a script, as pairs. */
export function* pairsOf(flat: readonly string[]): Iterable<readonly [string, string]> {
  for (let i = 0; i + 1 < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!]
}
