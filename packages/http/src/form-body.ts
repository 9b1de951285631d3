import type { Context } from 'hono'
import { InvalidUtf8 } from './problem'

/** A form field's value: text, or a file (which no form of ours takes). */
export type FormValue = string | File
/** A form's fields by name; a name sent more than once has all its values, in order. */
export type FormFields = Record<string, FormValue | FormValue[]>

const URLENCODED = 'application/x-www-form-urlencoded'
const MULTIPART = 'multipart/form-data'

/** Refuses bytes that are not UTF-8 instead of decoding them with U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A submitted form's fields (`application/x-www-form-urlencoded` or multipart), as Hono's
 * `parseBody({ all: true })` gives them, but text that is not UTF-8 — a raw 0xFF byte, or `%FF` — is
 * `400 INVALID_UTF8` (`InvalidUtf8`), as for JSON bodies: the web's form parsers decode it as U+FFFD,
 * which would store something nobody typed. Browsers send forms as UTF-8, so nothing a person sends is
 * refused. A multipart body is checked whole, files too: no form here takes a file. Another content type
 * has no fields (`{}`); a multipart body that does not parse is `undefined`. Every form the pages and
 * the console take is read through here.
 */
export async function utf8FormBody(c: Context): Promise<FormFields | undefined> {
  const mediaType = c.req.header('Content-Type')?.split(';')[0]?.trim().toLowerCase()
  if (mediaType !== URLENCODED && mediaType !== MULTIPART) return {}
  const bytes = new Uint8Array(await c.req.arrayBuffer())
  mustBeUtf8(mediaType === URLENCODED ? percentDecoded(bytes) : bytes)
  try {
    // Parses the bytes just read (Hono keeps them), now known to decode without replacement.
    return await c.req.parseBody({ all: true })
  } catch {
    return undefined
  }
}

function mustBeUtf8(bytes: Uint8Array): void {
  try {
    utf8.decode(bytes)
  } catch {
    throw new InvalidUtf8()
  }
}

/**
 * The body with every `%XX` replaced by its byte, as the URL standard decodes names and values (a `%`
 * without two hex digits stays). Decoded whole rather than field by field: `&`, `=` and `+` are ASCII,
 * which never splits a UTF-8 character, so the whole is UTF-8 exactly when every name and value is.
 */
function percentDecoded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length)
  let n = 0
  for (let i = 0; i < bytes.length; i++) {
    const high = bytes[i] === 0x25 ? hexValue(bytes[i + 1]) : -1
    const low = high >= 0 ? hexValue(bytes[i + 2]) : -1
    if (low >= 0) {
      out[n++] = high * 16 + low
      i += 2
    } else {
      out[n++] = bytes[i]!
    }
  }
  return out.subarray(0, n)
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1
}
