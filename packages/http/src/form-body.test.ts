import { describe, expect, it } from 'vitest'
import { createHttpApp } from './create-http-app'
import { utf8FormBody } from './form-body'

const URLENCODED = 'application/x-www-form-urlencoded'
const BOUNDARY = 'b0undary'
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
const multipart = (name: string, ...value: Array<string | number[]>) =>
  bytes(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`, ...value, `\r\n--${BOUNDARY}--\r\n`)

/** An app that answers the fields it parsed, and counts the requests that got that far. */
function app() {
  const answered = { count: 0 }
  const a = createHttpApp()
  a.post('/form', async (c) => {
    const fields = await utf8FormBody(c)
    answered.count++
    return c.json({ fields: fields ?? null })
  })
  const post = async (contentType: string | undefined, body: Buffer | string) => {
    const res = await a.request('/form', { method: 'POST', headers: contentType ? { 'Content-Type': contentType } : {}, body })
    return { status: res.status, body: (await res.json()) as { fields?: unknown; code?: string } }
  }
  return { post, answered }
}

describe('utf8FormBody', () => {
  it('gives the fields of a url-encoded or multipart form, every value of a repeated name, UTF-8 raw or percent-encoded', async () => {
    const { post } = app()
    expect(await post(URLENCODED, 'title=caf%C3%A9+%E2%82%AC&tag=a&tag=b')).toEqual({ status: 200, body: { fields: { title: 'café €', tag: ['a', 'b'] } } })
    expect(await post(URLENCODED, bytes('title=', [0xf0, 0x9f, 0x98, 0x80]))).toEqual({ status: 200, body: { fields: { title: '😀' } } })
    expect(await post(MULTIPART, multipart('title', 'café 😀'))).toEqual({ status: 200, body: { fields: { title: 'café 😀' } } })
    // A % without two hex digits is no escape: it stays, as the URL standard has it.
    expect(await post(URLENCODED, 'a=%ZZ&b=100%&c=%4')).toEqual({ status: 200, body: { fields: { a: '%ZZ', b: '100%', c: '%4' } } })
  })

  it('refuses text that is not UTF-8, percent-encoded or raw, with 400 INVALID_UTF8 before anything reads the fields', async () => {
    const { post, answered } = app()
    const refused = [
      [URLENCODED, 'title=%FF'],
      [URLENCODED, bytes('title=a', [0xff], 'b')],
      // An overlong '/', a surrogate encoded in UTF-8, a cut-off sequence, one character split across two fields.
      [URLENCODED, 'title=%C0%AF'],
      [URLENCODED, 'title=%ED%A0%80'],
      [URLENCODED, 'title=%E2%82'],
      [URLENCODED, 'a=%C3&b=%A9'],
      [URLENCODED, 'na%FFme=x'],
      [`${URLENCODED}; charset=UTF-8`, 'title=%FF'],
      [MULTIPART, multipart('title', 'a', [0xff], 'b')],
      [MULTIPART, multipart('title', [0xc3, 0x28])],
    ] as const
    for (const [contentType, body] of refused) {
      expect(await post(contentType, body), `${contentType} ${body.toString('latin1')}`).toEqual({ status: 400, body: expect.objectContaining({ code: 'INVALID_UTF8' }) })
    }
    expect(answered.count).toBe(0)
  })

  it('has no fields for another content type, and none at all (undefined) for a multipart body that does not parse', async () => {
    const { post } = app()
    expect(await post('application/json', '{"title":"x"}')).toEqual({ status: 200, body: { fields: {} } })
    expect(await post(undefined, 'title=x')).toEqual({ status: 200, body: { fields: {} } })
    expect(await post('multipart/form-data', 'x')).toEqual({ status: 200, body: { fields: null } })
  })
})
