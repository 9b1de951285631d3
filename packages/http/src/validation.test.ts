import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { createHttpApp } from './create-http-app'
import { validBody, validParams, validQuery } from './validation'

function app() {
  const a = createHttpApp()
  const post = z.object({ title: z.string().min(1), tags: z.array(z.string().max(5)).default([]) })
  a.post('/posts', validBody(post), (c) => {
    const body = c.req.valid('json')
    return c.json({ title: body.title, tags: body.tags })
  })
  a.get('/posts', validQuery(z.object({ limit: z.coerce.number().int().min(1).max(50).default(10), q: z.string().optional() })), (c) =>
    c.json(c.req.valid('query')),
  )
  a.get('/posts/:id', validParams(z.object({ id: z.uuid() })), (c) => c.json({ id: c.req.valid('param').id }))
  return a
}

const json = (body: string, contentType = 'application/json') => ({ method: 'POST', body, headers: { 'Content-Type': contentType } })

describe('request validation', () => {
  it('hands the parsed, defaulted body to the handler', async () => {
    const res = await app().request('/posts', json('{"title":"Hello"}'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ title: 'Hello', tags: [] })
  })

  it('accepts a JSON content type with parameters or a +json suffix', async () => {
    expect((await app().request('/posts', json('{"title":"a"}', 'application/json; charset=utf-8'))).status).toBe(200)
    expect((await app().request('/posts', json('{"title":"a"}', 'application/vnd.tidings+json'))).status).toBe(200)
  })

  it('answers 400 VALIDATION with every failing field and its path', async () => {
    const res = await app().request('/posts', json('{"title":"","tags":["ok","too long"]}'))
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as { fields: unknown }
    expect(body).toMatchObject({ status: 400, code: 'VALIDATION', type: 'urn:tidings:problem:validation' })
    expect(body.fields).toEqual([
      { path: 'title', message: expect.any(String) },
      { path: 'tags.1', message: expect.any(String) },
    ])
  })

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    for (const text of ['{"title":', '', "{'title':'x'}"]) {
      const res = await app().request('/posts', json(text))
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'MALFORMED_JSON' })
    }
  })

  it('refuses a body that is not UTF-8 with 400 INVALID_UTF8, without running the handler', async () => {
    let ran = 0
    const a = createHttpApp()
    a.post('/notes', validBody(z.object({ text: z.string() })), (c) => {
      ran++
      return c.json({ text: c.req.valid('json').text })
    })
    const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
    // A lead byte without its continuation, a lone continuation, an overlong '/', a surrogate encoded in UTF-8, a cut-off sequence.
    for (const bad of [[0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const res = await a.request('/notes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bytes('{"text":"a', bad, 'b"}') })
      expect(res.status, JSON.stringify(bad)).toBe(400)
      expect(await res.json()).toMatchObject({ status: 400, code: 'INVALID_UTF8', type: 'urn:tidings:problem:invalid-utf8' })
    }
    expect(ran).toBe(0)
    // Valid UTF-8 of every length still passes, with or without a BOM.
    const fine = await a.request('/notes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bytes([0xef, 0xbb, 0xbf], '{"text":"é€😀"}') })
    expect(await fine.json()).toEqual({ text: 'é€😀' })
  })

  it('refuses JSON that is not an object', async () => {
    for (const text of ['[{"title":"x"}]', '"x"', '42', 'null']) {
      const res = await app().request('/posts', json(text))
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'VALIDATION', fields: [{ path: '', message: 'The body must be a JSON object' }] })
    }
  })

  it('refuses a body that is not declared as JSON', async () => {
    for (const init of [json('{"title":"x"}', 'text/plain'), json('title=x', 'application/x-www-form-urlencoded'), { method: 'POST', body: '{}' }]) {
      const res = await app().request('/posts', init)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' })
    }
  })

  it('validates and coerces query parameters', async () => {
    expect(await (await app().request('/posts?limit=5&q=hi')).json()).toEqual({ limit: 5, q: 'hi' })
    expect(await (await app().request('/posts')).json()).toEqual({ limit: 10 })
    const res = await app().request('/posts?limit=500')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'VALIDATION', fields: [{ path: 'limit' }] })
    const repeated = await app().request('/posts?q=a&q=b')
    expect(await repeated.json()).toMatchObject({ code: 'VALIDATION', fields: [{ path: 'q' }] })
  })

  it('validates path parameters', async () => {
    const id = '0190a0b0-0000-7000-8000-000000000000'
    expect(await (await app().request(`/posts/${id}`)).json()).toEqual({ id })
    const res = await app().request('/posts/not-a-uuid')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'VALIDATION', fields: [{ path: 'id' }] })
  })
})
