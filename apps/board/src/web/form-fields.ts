import type { Context } from 'hono'
import { utf8FormBody } from '@tidings/http'

/**
 * The named fields of a submitted form (`application/x-www-form-urlencoded` or multipart), each exactly
 * one string; undefined when any is missing, given more than once or a file. Which values are acceptable
 * is the API's to say: the pages only make sure they forward what the form meant. Text that is not UTF-8
 * is refused (`400 INVALID_UTF8`, thrown: the pages answer it like any other refusal), never forwarded
 * with U+FFFD in its place.
 */
export async function formFields<K extends string, O extends string = never>(
  c: Context,
  names: readonly K[],
  optional: readonly O[] = [],
): Promise<(Record<K, string> & Partial<Record<O, string>>) | undefined> {
  const body = await utf8FormBody(c)
  // A malformed multipart body is bad input like any other, not a server error.
  if (!body) return undefined
  const required = pickFields(body, names)
  if (!required) return undefined
  const present = optional.filter((name) => Object.hasOwn(body, name))
  const rest = pickFields(body, present)
  return rest && { ...required, ...rest }
}

/** Pure part of `formFields`, on an already parsed body. */
export function pickFields<K extends string>(body: Record<string, unknown>, names: readonly K[]): Record<K, string> | undefined {
  const fields = {} as Record<K, string>
  for (const name of names) {
    const value = Object.hasOwn(body, name) ? body[name] : undefined
    if (typeof value !== 'string') return undefined
    fields[name] = value
  }
  return fields
}

/** What the member sees when a form arrives without its fields (a tampered or stale form). */
export const INVALID_FORM = 'The form was not filled in as expected. Please try again.'
