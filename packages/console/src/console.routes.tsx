import { readFileSync } from 'node:fs'
import { Hono } from 'hono'
import { html } from 'hono/html'
import { streamSSE } from 'hono/streaming'
import * as z from 'zod'
import { silentLogger, TidingsError, UnknownFeed, type Envelope, type Logger } from '@tidings/core'
import { validParams, validQuery } from '@tidings/http'
import { ConsolePage } from './console.page'
import { tailFeeds } from './event-tail'
import type { ConsoleExplorer } from './explorer'
import type { ExplorerOutcome } from './explorer.view'
import type { Operations } from './operations'
import { requireOperatorToken } from './operator-auth'
import { OverviewView } from './overview.view'

export interface ConsoleOptions {
  operations: Operations
  /** From the environment (`TIDINGS_OPERATOR_TOKEN`); without it the console only reads. */
  operatorToken?: string | undefined
  explorers?: readonly ConsoleExplorer[]
  logger?: Logger
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

/** Keeps idle event streams alive through proxies that drop silent connections. */
const HEARTBEAT_MS = 15_000
/** Event data shown in the live stream is cut here: the stream is for watching, not for copying payloads. */
const DATA_PREVIEW_CHARS = 2_000

const Filter = z.object({
  source: z.string().max(200).optional(),
  type: z.string().max(200).optional(),
  key: z.string().max(500).optional(),
})

/**
 * `/console`: the page, its refreshed overview fragment, the same overview as JSON, the live event stream,
 * and the two actions (replay a dead letter, rebuild a subscription), which need the operator token.
 */
export function consoleRoutes({ operations, operatorToken, explorers = [], logger = silentLogger }: ConsoleOptions): Hono {
  const routes = new Hono()
  const operator = requireOperatorToken(operatorToken)
  const actions = { enabled: operatorToken !== undefined }

  routes.get('/console', async (c) => {
    const searched = await search(explorers, c.req.query())
    const page = <ConsolePage overview={await operations.overview()} actions={actions} explorers={explorers} searched={searched} styles={STYLES} />
    const status = searched && 'error' in searched.outcome ? 400 : 200
    return c.html(html`<!doctype html>${page}`, status, PAGE_HEADERS)
  })

  routes.get('/console/fragments/overview', async (c) =>
    c.html(<OverviewView overview={await operations.overview()} actions={actions} />, 200, PAGE_HEADERS),
  )

  routes.get('/console/assets/console.js', (c) => c.body(SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=300' }))

  routes.get('/console/api/overview', async (c) => c.json(await operations.overview(), 200, { 'Cache-Control': 'no-store' }))

  routes.get('/console/api/events', validQuery(Filter), (c) => {
    const filter = c.req.valid('query')
    if (filter.source && !operations.feed(filter.source)) throw new UnknownFeed(filter.source)
    const feeds = operations.sources.flatMap((source) => operations.feed(source) ?? [])
    return streamSSE(c, async (stream) => {
      const ended = new AbortController()
      stream.onAbort(() => ended.abort())
      c.req.raw.signal.addEventListener('abort', () => ended.abort(), { once: true })
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => ended.abort()), HEARTBEAT_MS)
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ sources: filter.source ? [filter.source] : operations.sources }) })
        await tailFeeds(feeds, filter, ended.signal, (event) => stream.writeSSE({ event: 'event', id: event.id, data: JSON.stringify(preview(event)) }))
      } catch (error) {
        if (!ended.signal.aborted) logger.warn({ err: error }, 'console: event stream ended')
      } finally {
        clearInterval(heartbeat)
      }
    })
  })

  routes.post('/console/api/dead-letters/:schema/:id/replay', operator, validParams(z.object({ schema: z.string().max(63), id: z.string().max(20) })), async (c) => {
    const { schema, id } = c.req.valid('param')
    await operations.replay(schema, id)
    return c.json({ replayed: true, schema, id })
  })

  routes.post('/console/api/subscriptions/:name/reset', operator, validParams(z.object({ name: z.string().max(200) })), async (c) => {
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
