import { TidingsError } from '@tidings/core'
import * as z from 'zod'

/**
 * The source of a zero-payload event could not say what the latest state is (unreachable, 5xx, an answer
 * that does not parse). Kind `unavailable`, and the message starts with "fetch failed", so a consumer
 * retries it without limit instead of dead-lettering a healthy message.
 */
export class StateUnavailable extends TidingsError {
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super('STATE_UNAVAILABLE', 'unavailable', `fetch failed: ${url}: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

export interface HttpStateLookupOptions<T> {
  /** Where the source service listens, e.g. `http://board-post:3001`. */
  baseUrl: string
  /** The path of one entity's latest state, e.g. `(id) => /internal/posts/${id}`. */
  path: (id: string) => string
  /** Checks the body; throws when it is not a T. */
  parse: (body: unknown) => T
  /** Sent with every request: the service credential (`serviceHeaders`). */
  headers?: Record<string, string>
  timeoutMs?: number
  fetch?: typeof fetch
}

/**
 * The zero-payload fetch across processes: the latest state of one entity from the service that owns it,
 * or `undefined` when the source answers 404 (it never existed, or is gone for good).
 */
export function httpStateLookup<T>(options: HttpStateLookupOptions<T>): (id: string) => Promise<T | undefined> {
  const base = baseOf(options.baseUrl)
  return (id) => fetchState(`${base}${options.path(encodeURIComponent(id))}`, options.parse, options)
}

export interface HttpStatesLookupOptions<T> {
  baseUrl: string
  /** The path that answers `?ids=a,b,c` with `{ items: [...] }`, e.g. `/internal/comments`. */
  path: string
  /** Checks one item; throws when it is not a T. */
  parse: (item: unknown) => T
  /** Ids per request (the source's limit, `stateIdsQuery`); more are asked for in turn. */
  maxIds?: number
  headers?: Record<string, string>
  timeoutMs?: number
  fetch?: typeof fetch
}

/**
 * Many entities' latest state in one request per `maxIds`, for a consumer that handles a page at once: the
 * ones that exist, in any order.
 */
export function httpStatesLookup<T>(options: HttpStatesLookupOptions<T>): (ids: readonly string[]) => Promise<T[]> {
  const base = baseOf(options.baseUrl)
  const maxIds = options.maxIds ?? MAX_STATE_IDS
  const parseItems = (body: unknown): T[] => {
    const items = (body as { items?: unknown } | null)?.items
    if (!Array.isArray(items)) throw new Error('no items')
    return items.map(options.parse)
  }
  return async (ids) => {
    const listed = ids.find((id) => id.includes(','))
    if (listed !== undefined) throw new RangeError(`a batch lookup lists ids with commas, so it cannot ask for ${JSON.stringify(listed)}`)
    const states: T[] = []
    for (let from = 0; from < ids.length; from += maxIds) {
      const url = `${base}${options.path}?ids=${ids.slice(from, from + maxIds).map(encodeURIComponent).join(',')}`
      states.push(...((await fetchState(url, parseItems, options)) ?? []))
    }
    return states
  }
}

/** How many ids a batch lookup takes at most. */
export const MAX_STATE_IDS = 100

/** The query of a batch lookup route: `?ids=` with 1 to `MAX_STATE_IDS` comma-separated ids, each checked by `id`. */
export function stateIdsQuery<T extends z.ZodType<string, string>>(id: T) {
  return z.object({
    ids: z
      .string()
      .transform((ids) => ids.split(','))
      .pipe(z.array(id).min(1).max(MAX_STATE_IDS, `at most ${MAX_STATE_IDS} ids`)),
  })
}

const baseOf = (baseUrl: string): string => baseUrl.replace(/\/+$/, '')

async function fetchState<T>(url: string, parse: (body: unknown) => T, options: { headers?: Record<string, string>; timeoutMs?: number; fetch?: typeof fetch }): Promise<T | undefined> {
  let response: Response
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, { headers: { Accept: 'application/json', ...options.headers }, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) })
  } catch (error) {
    throw new StateUnavailable(url, error instanceof Error ? error.message : String(error), { cause: error })
  }
  if (response.status === 404) {
    await response.body?.cancel()
    return undefined
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new StateUnavailable(url, `status ${response.status}`)
  }
  try {
    return parse(await response.json())
  } catch (error) {
    throw new StateUnavailable(url, `an answer that is not the expected state: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}
