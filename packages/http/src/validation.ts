import { ValidationFailed } from '@tidings/core'
import type { Context, Env, MiddlewareHandler } from 'hono'
import type * as z from 'zod'
import { InvalidUtf8, MalformedJson, UnsupportedMediaType } from './problem'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

type Validated<Target extends 'json' | 'query' | 'param', In, Out> = {
  in: { [K in Target]: In }
  out: { [K in Target]: Out }
}

/**
 * A JSON object body checked against `schema`; the handler reads it with `c.req.valid('json')`. A body that
 * is not UTF-8 is `INVALID_UTF8`, one that is not JSON `MALFORMED_JSON`, one without a JSON content type `UNSUPPORTED_MEDIA_TYPE`, and JSON
 * that is not an object (a bare array, string or number) or does not match is `VALIDATION` with the fields.
 * Top-level objects only, so that every request body can grow new fields later.
 */
export function validBody<S extends z.ZodType>(schema: S): MiddlewareHandler<Env, string, Validated<'json', z.input<S>, z.output<S>>> {
  return async (c, next) => {
    const contentType = c.req.header('Content-Type')
    const mediaType = contentType?.split(';')[0]?.trim() ?? ''
    if (!JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaType('application/json', contentType)
    const value = parseJson(await utf8Text(c))
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ValidationFailed([{ path: '', message: 'The body must be a JSON object' }])
    }
    c.req.addValidatedData('json', (await check(schema, value)) as object)
    await next()
  }
}

/** Query parameters checked against `schema` (use `z.coerce` or transforms for numbers); read with `c.req.valid('query')`. */
export function validQuery<S extends z.ZodType>(
  schema: S,
): MiddlewareHandler<Env, string, Validated<'query', Record<string, string | string[]>, z.output<S>>> {
  return async (c, next) => {
    c.req.addValidatedData('query', (await check(schema, queryOf(c))) as object)
    await next()
  }
}

/** Path parameters checked against `schema`; read with `c.req.valid('param')`. */
export function validParams<S extends z.ZodType>(
  schema: S,
): MiddlewareHandler<Env, string, Validated<'param', Record<string, string>, z.output<S>>> {
  return async (c, next) => {
    c.req.addValidatedData('param', (await check(schema, c.req.param())) as object)
    await next()
  }
}

/** Runs a schema and turns its issues into `ValidationFailed` fields (`items.0.name`, `''` for the whole value). */
export async function check<S extends z.ZodType>(schema: S, value: unknown): Promise<z.output<S>> {
  const result = await schema.safeParseAsync(value)
  if (result.success) return result.data
  throw new ValidationFailed(result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })))
}

/** Refuses bytes that are not UTF-8 instead of decoding them with U+FFFD; a BOM is dropped, as `text()` does. */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The request body as text, decoded strictly: every JSON body is read through here. */
export async function utf8Text(c: Context): Promise<string> {
  const bytes = await c.req.arrayBuffer()
  try {
    return utf8.decode(bytes)
  } catch {
    throw new InvalidUtf8()
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new MalformedJson()
  }
}

/** A parameter given once is a string, one given several times an array, as Hono's own validator does. */
function queryOf(c: Context): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0]! : v]))
}
