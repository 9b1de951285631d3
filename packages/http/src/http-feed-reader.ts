import { randomUUID } from 'node:crypto'
import { comparePositions, isPosition, MalformedEnvelope, parseEnvelope, TidingsError, UnsupportedCharacter, MALFORMED_TYPE, type Envelope, type ErrorKind, type Position, type FeedLag, type FeedPage, type FeedReader, type ReadOptions } from '@tidings/core'
import { storableJson } from '@tidings/postgres'

export interface HttpFeedReaderOptions {
  /** Where the producer serves `feedRoutes`, e.g. `http://board-post:3000`. */
  baseUrl: string
  source: string
  headers?: Record<string, string>
  /** How long past the long poll a request may take before it counts as hung; default 10 s. */
  timeoutMarginMs?: number
  fetch?: typeof fetch
}

/**
 * The producer could not be reached or answered 5xx/408/429. The message starts with "fetch failed" so that
 * `isInfrastructureError` treats it as transient: retried without limit, never dead-lettering anything.
 */
export class FeedUnavailable extends TidingsError {
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super('FEED_UNAVAILABLE', 'unavailable', `fetch failed: ${url}: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** The producer refused the request (4xx): a bug or a misconfiguration on this side, not an outage. */
export class FeedRequestRejected extends TidingsError {
  constructor(url: string, status: number, code: string | undefined, detail: string | undefined) {
    super(code ?? `HTTP_${status}`, kindOfStatus(status), `${url} answered ${status}${detail ? `: ${detail}` : ''}`, { status })
  }
}

/** The producer answered something a feed never does: an item without a position, positions going backwards. */
export class FeedProtocolViolation extends TidingsError {
  constructor(url: string, reason: string) {
    super('FEED_PROTOCOL', 'unavailable', `${url} broke the feed protocol: ${reason}`)
  }
}

/** Raw items kept in a malformed envelope are cut to this many characters of JSON. */
const RAW_LIMIT = 64 * 1024

/**
 * Reads a producer's feed over HTTP (`feedRoutes` on the other side), for consumers in another process.
 *
 * Every item is checked with `parseEnvelope`. One that fails becomes an envelope of type `MALFORMED_TYPE`
 * at the item's own position, so that the consumer dead-letters it and the stream moves on. An item
 * without a valid position (or positions not increasing) cannot be placed in the stream: skipping it
 * could lose events and stopping before it would never end, so the page is refused with
 * `FeedProtocolViolation` and the subscription retries until the producer is fixed.
 */
export class HttpFeedReader implements FeedReader {
  readonly source: string
  private readonly base: string
  private readonly fetch: typeof fetch
  private readonly marginMs: number
  /** This reader's instance, for the position it reports (see `feedRoutes`). */
  private readonly session = randomUUID()

  constructor(private readonly options: HttpFeedReaderOptions) {
    this.source = options.source
    this.base = `${options.baseUrl.replace(/\/+$/, '')}/api/feeds/${encodeURIComponent(options.source)}`
    this.fetch = options.fetch ?? globalThis.fetch
    this.marginMs = options.timeoutMarginMs ?? 10_000
  }

  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    const params = new URLSearchParams({ after, limit: String(limit) })
    if (options.waitMs) params.set('wait', String(Math.round(options.waitMs)))
    if (options.reader) {
      params.set('consumer', options.reader)
      params.set('session', options.session ?? this.session)
    }
    const url = `${this.base}?${params}`
    const body = await this.get(url, (options.waitMs ?? 0) + this.marginMs, options.signal)
    if (body === undefined) return { items: [], next: after }
    return this.toPage(url, after, body)
  }

  async lag(after: Position): Promise<FeedLag> {
    const url = `${this.base}/lag?${new URLSearchParams({ after })}`
    const body = (await this.get(url, this.marginMs)) as { events?: unknown; oldestUnreadAt?: unknown } | null
    if (typeof body?.events !== 'number') throw new FeedProtocolViolation(url, 'a lag without events')
    const lag: FeedLag = { events: body.events }
    if (typeof body.oldestUnreadAt === 'string') lag.oldestUnreadAt = new Date(body.oldestUnreadAt)
    return lag
  }

  async trimmedThrough(): Promise<Position | undefined> {
    const url = `${this.base}/retention`
    const body = (await this.get(url, this.marginMs)) as { trimmedThrough?: unknown } | null
    const through = body?.trimmedThrough
    if (through === null) return undefined
    if (!isPosition(through)) throw new FeedProtocolViolation(url, 'a retention without a position')
    return through
  }

  /** The parsed JSON body, or undefined when the caller aborted (a stopping subscription is not an error). */
  private async get(url: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) return undefined
    const abort = new AbortController()
    const onAbort = (): void => abort.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => abort.abort(), timeoutMs)
    try {
      const response = await this.fetch(url, { headers: { Accept: 'application/json', ...this.options.headers }, signal: abort.signal })
      if (!response.ok) throw await failureOf(url, response)
      try {
        return await response.json()
      } catch (error) {
        if (abort.signal.aborted) throw error
        throw new FeedUnavailable(url, 'the answer is not JSON', { cause: error })
      }
    } catch (error) {
      if (error instanceof TidingsError) throw error
      if (signal?.aborted) return undefined
      if (abort.signal.aborted) throw new FeedUnavailable(url, `no answer within ${timeoutMs} ms`, { cause: error })
      throw new FeedUnavailable(url, networkReason(error), { cause: error })
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  private toPage(url: string, after: Position, body: unknown): FeedPage {
    const page = body as { items?: unknown; next?: unknown } | null
    if (!Array.isArray(page?.items) || !isPosition(page.next)) throw new FeedProtocolViolation(url, 'a page without items and next')
    let previous = after
    const items: Envelope[] = []
    for (const [index, raw] of page.items.entries()) {
      const envelope = this.toEnvelope(raw)
      if (envelope.position === undefined) throw new FeedProtocolViolation(url, `item ${index} has no valid position`)
      if (comparePositions(envelope.position, previous) <= 0) {
        throw new FeedProtocolViolation(url, `item ${index} at ${envelope.position} does not follow ${previous}`)
      }
      previous = envelope.position
      items.push(envelope)
    }
    if (comparePositions(page.next, previous) < 0) throw new FeedProtocolViolation(url, `next ${page.next} is behind ${previous}`)
    return { items, next: page.next }
  }

  private toEnvelope(raw: unknown): Envelope {
    try {
      const envelope = parseEnvelope(raw)
      // What PostgreSQL cannot store (NUL, lone surrogates) would fail the inbox and the dead-letter insert
      // alike, forever: such an item is malformed.
      storableJson(envelope, 'A feed item')
      return envelope
    } catch (error) {
      if (!(error instanceof MalformedEnvelope) && !(error instanceof UnsupportedCharacter)) throw error
      return malformed(this.source, raw, error.message)
    }
  }
}

/** A stand-in that carries a bad item to the dead-letter store; its id is stable so redelivery dedupes. */
function malformed(source: string, raw: unknown, reason: string): Envelope {
  const r = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {}
  const position = isPosition(r.position) ? r.position : undefined
  const occurredAt = typeof r.occurredAt === 'string' && !Number.isNaN(Date.parse(r.occurredAt)) ? r.occurredAt : new Date().toISOString()
  const key = typeof r.key === 'string' && r.key.length > 0 && r.key.length <= 200 && isStorable(r.key) ? r.key : 'malformed'
  const envelope: Envelope = {
    id: `malformed:${source}:${position ?? 'none'}`,
    type: MALFORMED_TYPE,
    source,
    key,
    occurredAt,
    data: { reason, raw: capped(raw) },
    meta: {},
  }
  if (position !== undefined) {
    envelope.position = position
    // The feed is the producer's outbox: where the item sits there is its producer position.
    envelope.meta.sourcePosition = position
  }
  return envelope
}

/** The first RAW_LIMIT characters, never ending in half of a surrogate pair (jsonb refuses a lone one). */
function cut(text: string): string {
  const head = text.slice(0, RAW_LIMIT)
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head
}

function capped(raw: unknown): unknown {
  const json = JSON.stringify(raw) ?? String(raw)
  if (!isStorable(raw)) return cut(json) // as JSON text, which escapes what jsonb refuses
  return json.length <= RAW_LIMIT ? raw : `${cut(json)}…`
}

function isStorable(value: unknown): boolean {
  try {
    storableJson(value, 'raw')
    return true
  } catch {
    return false
  }
}

async function failureOf(url: string, response: Response): Promise<TidingsError> {
  const text = await response.text().catch(() => '')
  if (response.status >= 500 || response.status === 408 || response.status === 429) {
    return new FeedUnavailable(url, `status ${response.status}`)
  }
  let problem: { code?: unknown; detail?: unknown } = {}
  try {
    problem = JSON.parse(text) as typeof problem
  } catch {
    // Not a problem document: the status says enough.
  }
  const code = typeof problem.code === 'string' ? problem.code : undefined
  const detail = typeof problem.detail === 'string' ? problem.detail : undefined
  return new FeedRequestRejected(url, response.status, code, detail)
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.message === 'string') return cause.message
  return error instanceof Error ? error.message : String(error)
}

function kindOfStatus(status: number): ErrorKind {
  switch (status) {
    case 401:
      return 'unauthorized'
    case 403:
      return 'forbidden'
    case 404:
      return 'not_found'
    case 409:
      return 'conflict'
    case 413:
      return 'too_large'
    default:
      return 'validation'
  }
}
