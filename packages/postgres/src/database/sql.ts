import { PayloadTooLarge, UnsupportedCharacter } from '@tidings/core'

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

/** Schema names are spliced into SQL, so they are checked, never escaped. */
export function schemaName(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a valid schema name: ${JSON.stringify(name)}`)
  return `"${name}"`
}

/** "board.post" → "board_post": the schema a service's tables live in. */
export function schemaForService(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9_]/g, '_')
}

const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/
/** JSON.stringify escapes a lone surrogate as \udXXX (a paired one stays raw); jsonb refuses it. */
const ESCAPED_LONE_SURROGATE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i

/** JSON for a jsonb column. PostgreSQL cannot store NUL in text or jsonb, so it is refused here with a clear error. */
export function storableJson(value: unknown, where: string, maxBytes = Infinity): string {
  const json = JSON.stringify(value ?? null)
  if (json.includes('\\u0000') && ESCAPED_NUL.test(json)) throw new UnsupportedCharacter(where)
  if (json.includes('\\ud') && ESCAPED_LONE_SURROGATE.test(json)) throw new UnsupportedCharacter(where)
  if (json.length > maxBytes / 4 && Buffer.byteLength(json) > maxBytes) throw new PayloadTooLarge(maxBytes)
  return json
}
