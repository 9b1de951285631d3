import { describe, expect, it } from 'vitest'
import { TidingsError, ValidationFailed, type ErrorKind } from '@tidings/core'
import { HTTPException } from 'hono/http-exception'
import { MalformedJson, problemOf, problemResponse, statusOfKind } from './problem'

function recordingLogger() {
  const entries: Array<{ level: string; obj: object }> = []
  const log = (level: string) => (obj: object) => entries.push({ level, obj })
  return { entries, logger: { info: log('info'), warn: log('warn'), error: log('error') } }
}

describe('problem+json', () => {
  const cases: Array<[ErrorKind, number]> = [
    ['validation', 400],
    ['unauthorized', 401],
    ['forbidden', 403],
    ['not_found', 404],
    ['conflict', 409],
    ['too_large', 413],
    ['unprocessable', 422],
    ['unavailable', 503],
  ]

  it.each(cases)('maps the %s kind to %i with type, title, status, code and detail', async (kind, status) => {
    expect(statusOfKind[kind]).toBe(status)
    const p = problemOf(new TidingsError('SOME_CODE', kind, 'what went wrong'))
    expect(p).toEqual({ type: 'urn:tidings:problem:some-code', title: expect.any(String), status, code: 'SOME_CODE', detail: 'what went wrong' })
    const response = problemResponse(p)
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toEqual(p)
  })

  it('lists the fields of a failed validation', () => {
    const p = problemOf(new ValidationFailed([{ path: 'title', message: 'Required' }]))
    expect(p).toMatchObject({ status: 400, code: 'VALIDATION', fields: [{ path: 'title', message: 'Required' }] })
  })

  it('answers malformed JSON with MALFORMED_JSON', () => {
    expect(problemOf(new MalformedJson())).toMatchObject({ status: 400, code: 'MALFORMED_JSON' })
  })

  it('hides an unexpected error behind a bare 500 and logs it', () => {
    const { entries, logger } = recordingLogger()
    const secret = new Error('password=hunter2 at db.internal:5432')
    const p = problemOf(secret, logger, { path: '/x' })
    expect(p).toEqual({
      type: 'urn:tidings:problem:internal',
      title: 'Internal Server Error',
      status: 500,
      code: 'INTERNAL',
      detail: 'An unexpected error occurred',
    })
    expect(JSON.stringify(p)).not.toMatch(/hunter2|db\.internal|at /)
    expect(entries).toEqual([{ level: 'error', obj: { path: '/x', err: secret } }])
  })

  it('logs unavailability but keeps its own message', () => {
    const { entries, logger } = recordingLogger()
    expect(problemOf(new TidingsError('DB_DOWN', 'unavailable', 'Try again later'), logger)).toMatchObject({ status: 503, detail: 'Try again later' })
    expect(entries.map((e) => e.level)).toEqual(['warn'])
  })

  it('answers a failure of the database or the network with 503 UNAVAILABLE, its details only in the log', () => {
    const { entries, logger } = recordingLogger()
    const failures = [
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
      Object.assign(new Error('deadlock detected'), { code: '40P01' }),
      new Error('Connection terminated unexpectedly at db.internal:5432'),
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' }),
    ]
    for (const failure of failures) {
      const p = problemOf(failure, logger)
      expect(p).toEqual({ type: 'urn:tidings:problem:unavailable', title: 'Service Unavailable', status: 503, code: 'UNAVAILABLE', detail: 'A service this request needs is unavailable; try again' })
    }
    expect(entries.map((e) => [e.level, (e.obj as { err?: unknown }).err])).toEqual(failures.map((f) => ['warn', f]))
  })

  it("renders Hono's own client errors as problems too", () => {
    expect(problemOf(new HTTPException(413))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    expect(problemOf(new HTTPException(400, { message: 'Malformed JSON in request body' }))).toMatchObject({
      status: 400,
      code: 'HTTP_400',
      detail: 'Malformed JSON in request body',
    })
    expect(problemOf(new HTTPException(502, { message: 'upstream said x' }))).toMatchObject({ status: 500, code: 'INTERNAL' })
  })
})
