import fc from 'fast-check'
import * as z from 'zod'
import { type BodySpec } from './fuzz-request'
import { deepJson, garbageValue, type Json, jsonContentType, jsonText, mangledBytes, nastyString, nonObjectJson, oddNumber } from './garbage.arbitraries'

/** The subset of JSON Schema that `z.toJSONSchema` writes for the routes' schemas. */
interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  enum?: Json[]
  const?: Json
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
}

/**
 * What a schema's JSON Schema cannot say (refinements: `userText`'s length in code points, a nickname's
 * alphabet), by property path (`items.sku`, `nickname`): these arbitraries are used instead — one for any
 * value, or `{ valid, any }` when the valid ones need saying apart.
 */
export type Hint = fc.Arbitrary<Json> | { valid: fc.Arbitrary<Json>; any: fc.Arbitrary<Json> }
export type Hints = Record<string, Hint>

type Mode = 'valid' | 'any'

/**
 * Values for a route's zod schema, walked through zod 4's own JSON Schema of its input
 * (`z.toJSONSchema(schema, { io: 'input' })`): `valid` keeps to what the schema declares, `any` adds
 * values at and just past every bound, the wrong kinds and nasty strings. Refinements and transforms are
 * invisible there: `hints` fill them in.
 */
export function fromSchema(schema: z.ZodType, hints: Hints = {}, mode: Mode = 'any'): fc.Arbitrary<Json> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  return walk(json, hints, '', mode)
}

/** The pattern zod 4 checks emails with, from its own JSON Schema. */
export const EMAIL = new RegExp((z.toJSONSchema(z.email()) as JsonSchema).pattern!)

function walk(s: JsonSchema, hints: Hints, path: string, mode: Mode): fc.Arbitrary<Json> {
  const hint = hints[path]
  if (hint) return hint instanceof fc.Arbitrary ? hint : hint[mode]
  const any = mode === 'any'
  if (s.enum) return fc.oneof({ arbitrary: fc.constantFrom(...s.enum), weight: 6 }, { arbitrary: nastyString, weight: any ? 1 : 0 })
  if (s.const !== undefined) return fc.constant(s.const)
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives) return fc.oneof(...alternatives.map((a) => walk(a, hints, path, mode)))
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case 'string':
      return stringOf(s, any)
    case 'integer':
    case 'number':
      return numberOf(s, type === 'integer', any)
    case 'boolean':
      return fc.boolean()
    case 'array': {
      const items = walk(s.items ?? {}, hints, path ? `${path}.items` : 'items', mode)
      const minLength = s.minItems ?? 0
      const maxLength = Math.max(minLength, Math.min(s.maxItems ?? 5, 5))
      const tooMany = (s.maxItems ?? 5) + 1
      return fc.oneof(
        { arbitrary: fc.array(items, { minLength, maxLength }), weight: 8 },
        { arbitrary: fc.array(items, { minLength: tooMany, maxLength: tooMany }), weight: any && s.maxItems !== undefined && s.maxItems <= 200 ? 1 : 0 },
      )
    }
    case 'object': {
      const entries = Object.entries(s.properties ?? {}).map(([key, sub]) => [key, walk(sub, hints, path ? `${path}.${key}` : key, mode)] as const)
      const required = new Set(s.required ?? [])
      return fc.record(Object.fromEntries(entries), { requiredKeys: entries.map(([key]) => key).filter((key) => required.has(key)) }) as fc.Arbitrary<Json>
    }
    default:
      return garbageValue
  }
}

function stringOf(s: JsonSchema, any: boolean): fc.Arbitrary<Json> {
  const max = s.maxLength
  const min = s.minLength ?? 0
  const plain = s.pattern
    ? fc.stringMatching(new RegExp(s.pattern)).filter((v) => max === undefined || v.length <= max)
    : s.format === 'email'
      ? fc.stringMatching(EMAIL)
      : fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max ?? 40, 40)) })
  if (!any) return plain
  const bounds = [max, max === undefined ? undefined : max + 1, min > 0 ? min - 1 : undefined].filter((n): n is number => n !== undefined)
  return fc.oneof(
    { arbitrary: plain, weight: 8 },
    { arbitrary: fc.constantFrom(...(bounds.length > 0 ? bounds : [0])).map((n) => 'a'.repeat(n)), weight: bounds.length > 0 ? 2 : 0 },
    { arbitrary: nastyString, weight: 2 },
  )
}

function numberOf(s: JsonSchema, integer: boolean, any: boolean): fc.Arbitrary<Json> {
  const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1_000)
  const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1_000_000)
  const inRange = integer ? fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) }) : fc.double({ min, max, noNaN: true })
  if (!any) return inRange
  return fc.oneof(
    { arbitrary: inRange.map((n) => n as Json), weight: 8 },
    { arbitrary: fc.constantFrom<Json>(min, max, min - 1, max + 1, min + 0.5, -0), weight: 2 },
    { arbitrary: oddNumber, weight: 2 },
    { arbitrary: fc.constantFrom<Json>(String(min), `${max}`, null, true), weight: 1 },
  )
}

/** A request body aimed at a route: bytes and the content type they go with. */
export interface JsonBody {
  contentType: string | undefined
  body: BodySpec | undefined
}

/** Bodies of every kind, and (`clean`) only the ones a well-behaved client sends, so that the handlers behind validation run often. */
export type BodyArbitrary = fc.Arbitrary<JsonBody> & { clean: fc.Arbitrary<JsonBody> }

export const withClean = (all: fc.Arbitrary<JsonBody>, clean: fc.Arbitrary<JsonBody>): BodyArbitrary => Object.assign(all, { clean })

/**
 * Bodies for a route whose body is `schema`: mostly valid-looking (so the route's handler runs), and then
 * every way of being wrong — a field of the wrong kind, a missing one, extra ones (`__proto__` too), JSON
 * that is no object, deep nesting, invalid UTF-8, a BOM, cut off, over the 1 MiB limit (declared or
 * chunked), no body at all, the wrong content type.
 */
export function jsonBody(schema: z.ZodType, hints: Hints = {}): BodyArbitrary {
  const valid = fromSchema(schema, hints, 'any')
  const objectish = valid.filter((v): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v))
  const wrongField = fc.tuple(objectish, fc.nat(), fc.oneof({ arbitrary: garbageValue, weight: 8 }, { arbitrary: deepJson, weight: 1 })).map(([value, pick, junk]) => {
    const keys = Object.keys(value)
    if (keys.length === 0) return { ...value, junk }
    return { ...value, [keys[pick % keys.length]!]: junk }
  })
  const missingField = fc.tuple(objectish, fc.nat()).map(([value, pick]) => {
    const keys = Object.keys(value)
    const copy = { ...value }
    if (keys.length > 0) delete copy[keys[pick % keys.length]!]
    return copy
  })
  const extraFields = fc.tuple(objectish, fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'memberId', 'roles', 'customerId', 'writerId', 'version', 'deleted')), garbageValue, { minKeys: 1, maxKeys: 4 })).map(([value, extra]) => ({ ...value, ...extra }))
  const text: fc.Arbitrary<string> = fc.oneof(
    { arbitrary: valid.map(jsonText), weight: 14 },
    { arbitrary: wrongField.map(jsonText), weight: 4 },
    { arbitrary: missingField.map(jsonText), weight: 2 },
    { arbitrary: extraFields.map(jsonText), weight: 2 },
    // A duplicated key: JSON.parse keeps the last one.
    { arbitrary: fc.tuple(objectish, garbageValue).map(([value, junk]) => { const t = jsonText(value); return t.length > 2 ? `{"x":${jsonText(junk)},${t.slice(1)}` : t }), weight: 1 },
    { arbitrary: nonObjectJson, weight: 2 },
    { arbitrary: deepJson.map((d) => `{"a":${d.text}}`), weight: 1 },
  )
  const bytes: fc.Arbitrary<BodySpec | undefined> = fc.oneof(
    { arbitrary: fc.tuple(text.chain(mangledBytes), fc.constantFrom(1, 1, 1, 3)).map(([b, chunks]): BodySpec => ({ kind: 'bytes', bytes: b, chunks })), weight: 40 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(1024 * 1024 + 1, 2 * 1024 * 1024), fc.boolean())
        .map(([size, chunked]): BodySpec => ({ kind: 'filler', prefix: '{"title":"', size, chunked })),
      weight: 1,
    },
  )
  const clean = fromSchema(schema, hints, 'valid').map((value): JsonBody => ({ contentType: 'application/json', body: { kind: 'bytes', bytes: Buffer.from(jsonText(value)) } }))
  return withClean(fc.record({ contentType: jsonContentType, body: bytes }), clean)
}
