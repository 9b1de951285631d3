import { InvalidPosition, isPosition, START, UnknownFeed, type Position, type FeedReader } from '@tidings/core'
import { Hono, type Context } from 'hono'
import * as z from 'zod'
import { check } from './validation'

export interface FeedRoutesOptions {
  /** The feeds this process serves, by source name, e.g. `{ 'board.post': new OutboxFeed(...) }`. */
  feeds: Record<string, FeedReader>
  /** Largest page a client may ask for; default 1000. */
  maxLimit?: number
  /** Longest long poll a client may ask for; default 25 s (below common proxy idle timeouts). */
  maxWaitMs?: number
  /** Page size when the client gives none; default 100. */
  defaultLimit?: number
}

/** The JSON a feed page travels as. */
export interface FeedPageBody {
  items: unknown[]
  next: Position
}

/** How far retention has deleted the feed: a consumer rebuilding from the start would miss up to there. */
export interface FeedRetentionBody {
  trimmedThrough: string | null
}

export interface FeedLagBody {
  events: number
  oldestUnreadAt: string | null
}

/** Consumer names are free-form, but they land in a table: printable, at most 200 characters. */
const READER_NAME = /^[^\p{Cc}]{1,200}$/u

/**
 * The embedded transport across processes: a producer's feed over HTTP.
 *
 *   GET /api/feeds/:source?after=&limit=&wait=&consumer=&session=  → { items, next }
 *   GET /api/feeds/:source/lag?after=                      → { events, oldestUnreadAt }
 *   GET /api/feeds/:source/retention                       → { trimmedThrough } (null: nothing deleted yet)
 *
 * With `wait` (ms) an empty page is held open until the feed grows or the wait ends (long poll); a client
 * that disconnects ends its wait. `consumer` names the reader, so that retention keeps what it still needs;
 * `session` (required with it, random per running instance) says which of its instances reports, and
 * another session cannot move a live reader's position.
 */
export function feedRoutes(options: FeedRoutesOptions): Hono {
  const feeds = new Map(Object.entries(options.feeds))
  const maxLimit = options.maxLimit ?? 1000
  const maxWaitMs = options.maxWaitMs ?? 25_000
  const defaultLimit = Math.min(options.defaultLimit ?? 100, maxLimit)
  const integer = (min: number, max: number) =>
    z
      .string()
      .regex(/^[0-9]{1,9}$/, 'Must be a whole number')
      .transform(Number)
      .pipe(z.number().min(min).max(max))
  const pageQuery = z.object({
    limit: integer(1, maxLimit).optional(),
    wait: integer(0, maxWaitMs).optional(),
    consumer: z.string().regex(READER_NAME, 'At most 200 characters, no control characters').optional(),
    session: z.string().regex(/^[\w-]{16,64}$/, '16 to 64 letters, digits, - or _').optional(),
  }).refine((q) => !q.consumer || q.session, { path: ['session'], message: 'A consumer reports its position with its session (random per running instance)' })

  const app = new Hono()

  app.get('/api/feeds/:source', async (c) => {
    const feed = feedOf(feeds, c)
    const after = positionOf(c)
    const query = await check(pageQuery, singleValues(c, ['limit', 'wait', 'consumer', 'session']))
    const page = await feed.read(after, query.limit ?? defaultLimit, {
      ...(query.consumer ? { reader: query.consumer, session: query.session } : {}),
      waitMs: query.wait ?? 0,
      signal: c.req.raw.signal,
    })
    const body: FeedPageBody = { items: page.items, next: page.next }
    return c.json(body, 200, { 'Cache-Control': 'no-store' })
  })

  app.get('/api/feeds/:source/retention', async (c) => {
    const feed = feedOf(feeds, c)
    const body: FeedRetentionBody = { trimmedThrough: (await feed.trimmedThrough?.()) ?? null }
    return c.json(body, 200, { 'Cache-Control': 'no-store' })
  })

  app.get('/api/feeds/:source/lag', async (c) => {
    const feed = feedOf(feeds, c)
    const lag = await feed.lag(positionOf(c))
    const body: FeedLagBody = { events: lag.events, oldestUnreadAt: lag.oldestUnreadAt?.toISOString() ?? null }
    return c.json(body, 200, { 'Cache-Control': 'no-store' })
  })

  return app
}

function feedOf(feeds: Map<string, FeedReader>, c: Context): FeedReader {
  const source = c.req.param('source') ?? ''
  const feed = feeds.get(source)
  if (!feed) throw new UnknownFeed(source)
  return feed
}

function positionOf(c: Context): Position {
  const values = c.req.queries('after') ?? []
  if (values.length === 0) return START
  const after = values[0]!
  if (values.length > 1 || !(after === '' || isPosition(after))) throw new InvalidPosition(values.join(','))
  return after === '' ? START : after
}

/** Repeated parameters stay arrays so that the schema refuses them instead of silently taking one. */
function singleValues(c: Context, names: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name of names) {
    const values = c.req.queries(name)
    if (values && values.length > 0) out[name] = values.length === 1 ? values[0]! : values
  }
  return out
}
