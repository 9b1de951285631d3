import { readFileSync } from 'node:fs'
import { Hono, type Context } from 'hono'
import { html } from 'hono/html'
import { csrf } from 'hono/csrf'
import { deleteCookie, setCookie } from 'hono/cookie'
import { streamSSE } from 'hono/streaming'
import * as z from 'zod'
import { silentLogger, TidingsError, UnknownFeed, ValidationFailed, type Envelope, type Logger } from '@tidings/core'
import { problem, problemResponse, utf8FormBody, validParams, validQuery } from '@tidings/http'
import { ConsolePage } from './console.page'
import { EventTails } from './event-tail'
import type { ConsoleExplorer } from './explorer'
import type { ExplorerOutcome } from './explorer.view'
import type { Operations } from './operations'
import { operatorAuth } from './operator-auth'
import { SESSION_COOKIE, SESSION_TTL_MS } from './operator-session'
import { SignInPage } from './sign-in.page'
import { OverviewView } from './overview.view'

export interface ConsoleOptions {
  operations: Operations
  /** From the environment (`TIDINGS_OPERATOR_TOKEN`); without it the console shows nothing. */
  operatorToken?: string | undefined
  /** Live event streams open at once (default 5): the console has one operator, who needs a few tabs. */
  maxLiveStreams?: number
  explorers?: readonly ConsoleExplorer[]
  logger?: Logger
  /**
   * The tails the live streams share (default: over every feed of `operations`). Given by a test that
   * counts them: the streams must cost one reader per feed, however many are open.
   */
  tails?: EventTails
}

const asset = (name: string): string => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8')
const STYLES = asset('console.css')
const SCRIPT = asset('console.js')

/** Only our own script, no framing (the actions are buttons), never cached (it shows live state). */
const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'self'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
}

/** Live event streams open at once, unless told otherwise. */
export const MAX_LIVE_STREAMS = 5

/** Keeps idle event streams alive through proxies that drop silent connections. */
const HEARTBEAT_MS = 15_000
/** Event data shown in the live stream is cut here: the stream is for watching, not for copying payloads. */
const DATA_PREVIEW_CHARS = 2_000

const Filter = z.object({
  source: z.string().max(200).optional(),
  type: z.string().max(200).optional(),
  key: z.string().max(500).optional(),
})

/** Visible characters only: a saga id is text an app chose, never a NUL or a control character. */
const sagaId = z.string().min(1).max(200).regex(/^[^\p{Cc}]+$/u, 'Control characters are not allowed')
const SagaFilter = z.object({
  type: z.string().max(200).regex(/^[^\p{Cc}]*$/u, 'Control characters are not allowed').optional(),
  status: z.enum(['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED']).optional(),
  // The page's end: the last saga's `updatedAt` and id (`next` of the page before).
  before: z.iso.datetime().refine((at) => Date.parse(at) >= Date.parse('2000-01-01T00:00:00Z'), 'Not a time sagas can have').optional(),
  beforeId: sagaId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
})
const SagaId = z.object({ id: sagaId })

/** A lookup that did not find it answers `fallback`; anything else still fails. */
const notFoundAs =
  <T,>(fallback: T) =>
  (error: unknown): T => {
    if (error instanceof TidingsError && error.kind === 'not_found') return fallback
    throw error
  }

/** Live tails over every feed the console shows, one per feed. */
export function tailsOf(operations: Operations): EventTails {
  return new EventTails(operations.sources.flatMap((source) => operations.feed(source) ?? []))
}

/**
 * `/console`: the page, its refreshed overview fragment, the same overview as JSON, the live event stream,
 * and the two actions (replay a dead letter, rebuild a subscription). All of it needs the operator token:
 * the data with the token or a session signed in with it (`POST /console/session`), the actions with the
 * token itself. Without a configured token the console is disabled.
 */
export function consoleRoutes({ operations, operatorToken, explorers = [], logger = silentLogger, maxLiveStreams = MAX_LIVE_STREAMS, tails = tailsOf(operations) }: ConsoleOptions): Hono {
  const routes = new Hono()
  const auth = operatorAuth(operatorToken)
  const actions = { enabled: auth.enabled }
  let liveStreams = 0
  const signInPage = (c: Context, status: 401 | 403, refused = false) =>
    c.html(html`<!doctype html>${<SignInPage styles={STYLES} enabled={auth.enabled} refused={refused} />}`, status, PAGE_HEADERS)

  routes.get('/console', async (c) => {
    const access = auth.access(c)
    if (access !== 'granted') return signInPage(c, access === 'disabled' ? 403 : 401)
    const searched = await search(explorers, c.req.query())
    const asked = c.req.query('saga')
    const saga = asked ? { id: asked.slice(0, 200), found: sagaId.safeParse(asked).success ? await operations.saga(asked).catch(notFoundAs(undefined)) : undefined } : undefined
    const page = <ConsolePage overview={await operations.overview()} actions={actions} explorers={explorers} searched={searched} saga={saga} styles={STYLES} />
    const status = searched && 'error' in searched.outcome ? 400 : saga && !saga.found ? 404 : 200
    return c.html(html`<!doctype html>${page}`, status, PAGE_HEADERS)
  })

  // A form posted from this origin only; the session cookie is HttpOnly, SameSite=Strict and for /console.
  routes.post('/console/session', csrf(), async (c) => {
    const form = await utf8FormBody(c)
    if (!form) throw new ValidationFailed([{ path: '', message: 'The body must be a form (application/x-www-form-urlencoded or multipart/form-data)' }])
    const session = typeof form.token === 'string' ? auth.signIn(form.token) : undefined
    if (!session) return signInPage(c, auth.enabled ? 401 : 403, auth.enabled)
    const secure = new URL(c.req.url).protocol === 'https:'
    setCookie(c, SESSION_COOKIE, session, { path: '/console', httpOnly: true, sameSite: 'Strict', secure, maxAge: SESSION_TTL_MS / 1000 })
    return c.redirect('/console', 303)
  })

  routes.post('/console/session/end', csrf(), (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/console' })
    return c.redirect('/console', 303)
  })

  routes.get('/console/fragments/overview', auth.viewer, async (c) =>
    c.html(<OverviewView overview={await operations.overview()} actions={actions} />, 200, PAGE_HEADERS),
  )

  routes.get('/console/assets/console.js', (c) => c.body(SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=300' }))

  routes.get('/console/api/overview', auth.viewer, async (c) => c.json(await operations.overview(), 200, { 'Cache-Control': 'no-store' }))

  routes.get('/console/api/events', auth.viewer, validQuery(Filter), (c) => {
    const filter = c.req.valid('query')
    if (filter.source && !operations.feed(filter.source)) throw new UnknownFeed(filter.source)
    // Counted before the response starts, so that one stream too many is a plain 429.
    if (liveStreams >= maxLiveStreams) return tooManyStreams(maxLiveStreams)
    liveStreams++
    return streamSSE(c, async (stream) => {
      const ended = new AbortController()
      stream.onAbort(() => ended.abort())
      c.req.raw.signal.addEventListener('abort', () => ended.abort(), { once: true })
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => ended.abort()), HEARTBEAT_MS)
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ sources: filter.source ? [filter.source] : operations.sources }) })
        const kept = await tails.watch(filter, ended.signal, (event) => stream.writeSSE({ event: 'event', id: event.id, data: JSON.stringify(preview(event)) }))
        if (!kept) await stream.writeSSE({ event: 'dropped', data: JSON.stringify({ reason: 'This stream fell too far behind, or its feed failed; reconnect to watch again.' }) })
      } catch (error) {
        if (!ended.signal.aborted) logger.warn({ err: error }, 'console: event stream ended')
      } finally {
        clearInterval(heartbeat)
        liveStreams--
      }
    })
  })

  routes.post('/console/api/dead-letters/:schema/:id/replay', auth.actor, validParams(z.object({ schema: z.string().max(63), id: z.string().max(20) })), async (c) => {
    const { schema, id } = c.req.valid('param')
    await operations.replay(schema, id)
    return c.json({ replayed: true, schema, id })
  })

  routes.get('/console/api/sagas', auth.viewer, validQuery(SagaFilter), async (c) => {
    const { type, status, before, beforeId, limit } = c.req.valid('query')
    const after = before ? { before: { at: new Date(before), id: beforeId ?? '' } } : {}
    const sagas = await operations.sagaList({ ...(type ? { type } : {}), ...(status ? { status } : {}), ...after, limit })
    const last = sagas.length === limit ? sagas.at(-1)! : undefined
    return c.json({ items: sagas, next: last ? { before: last.updatedAt, beforeId: last.id } : null }, 200, { 'Cache-Control': 'no-store' })
  })

  routes.get('/console/api/sagas/:id', auth.viewer, validParams(SagaId), async (c) => c.json(await operations.saga(c.req.valid('param').id), 200, { 'Cache-Control': 'no-store' }))

  routes.post('/console/api/sagas/:id/retry', auth.actor, validParams(SagaId), async (c) => c.json({ retried: true, saga: await operations.retrySaga(c.req.valid('param').id) }))

  routes.post('/console/api/subscriptions/:name/reset', auth.actor, validParams(z.object({ name: z.string().max(200) })), async (c) => {
    const { name } = c.req.valid('param')
    await operations.reset(name)
    return c.json({ reset: true, name })
  })

  return routes
}

/** Runs the explorer search the query asks for (`?explorer=<name>&<field>=…`), if any. */
async function search(explorers: readonly ConsoleExplorer[], query: Record<string, string>): Promise<{ explorer: string; outcome: ExplorerOutcome } | undefined> {
  const explorer = explorers.find((e) => e.name === query.explorer)
  if (!explorer) return undefined
  const given = Object.fromEntries(explorer.fields.flatMap((f) => (query[f.name]?.trim() ? [[f.name, query[f.name]!.trim()]] : [])))
  if (Object.keys(given).length === 0) return { explorer: explorer.name, outcome: { query: given, error: `Give ${explorer.fields.map((f) => f.label).join(' or ')}.` } }
  try {
    return { explorer: explorer.name, outcome: { query: given, rows: await explorer.search(given) } }
  } catch (error) {
    if (error instanceof TidingsError && error.kind === 'validation') return { explorer: explorer.name, outcome: { query: given, error: error.message } }
    throw error
  }
}

/** 429 `TOO_MANY_STREAMS`: a closed tab's stream is noticed at its next keep-alive, hence `Retry-After`. */
function tooManyStreams(max: number): Response {
  const retryAfter = Math.ceil(HEARTBEAT_MS / 1000)
  return problemResponse(problem(429, 'TOO_MANY_STREAMS', `At most ${max} live event streams may be open at once; close one first`, { retryAfter }), { 'Retry-After': String(retryAfter) })
}

function preview(event: Envelope) {
  const data = JSON.stringify(event.data) ?? 'null'
  return {
    id: event.id,
    source: event.source,
    type: event.type,
    key: event.key,
    version: event.version ?? null,
    position: event.position ?? null,
    occurredAt: event.occurredAt,
    data: data.length > DATA_PREVIEW_CHARS ? `${data.slice(0, DATA_PREVIEW_CHARS)}…` : data,
  }
}
