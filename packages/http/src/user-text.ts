import * as z from 'zod'

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** C0/C1 control characters other than tab and line breaks, which no board text needs. */
const CONTROL = /(?![\t\n\r])\p{Cc}/u

/**
 * Bidirectional embeddings, overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
 * U+061C): they make a name, a title or an address read differently from what it is ("Trojan Source").
 * Right-to-left text itself needs none of them.
 */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/

/**
 * What shows nothing: format characters, spaces, combining marks on their own, and the letters and
 * symbols that render blank (Hangul fillers, the blank Braille pattern).
 */
const BLANK = /[\p{Cf}\p{M}\s\u115F\u1160\u3164\uFFA0\u2800]/u

/** Whether `s` has at least `count` characters that show something. */
export const hasVisible = (s: string, count = 1): boolean => [...s].filter((ch) => !BLANK.test(ch)).length >= count

/**
 * User-written text: NFC-normalised, well-formed UTF-16 (no lone surrogates, which no database or JSON
 * peer accepts), free of control characters, and between `min` and `max` code points once trimmed.
 * Bidirectional controls are refused unless `bidiControls` allows them (long prose, where a writer of
 * mixed scripts may use them on purpose).
 */
export function userText(min: number, max: number, options: { multiline?: boolean; bidiControls?: boolean } = {}) {
  const forbidden = options.multiline ? CONTROL : /[\p{Cc}]/u
  return z
    .string()
    .refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (no lone surrogates)')
    .transform((s) => s.normalize('NFC').trim())
    .refine((s) => !forbidden.test(s), 'must not contain control characters')
    .refine((s) => options.bidiControls || !BIDI_CONTROL.test(s), 'must not contain bidirectional control characters')
    .refine((s) => [...s].length >= min, `must be at least ${min} characters`)
    .refine((s) => min === 0 || hasVisible(s), 'must contain something visible')
    .refine((s) => [...s].length <= max, `must be at most ${max} characters`)
}

/** Path ids are UUIDs (v7 here, but any well-formed UUID is looked up and simply not found). */
export const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID').transform((s) => s.toLowerCase())
