import { TidingsError } from '@tidings/core'

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
  timeoutMs?: number
  fetch?: typeof fetch
}

/**
 * The zero-payload fetch across processes: the latest state of one entity from the service that owns it,
 * or `undefined` when the source answers 404 (it never existed, or is gone for good).
 */
export function httpStateLookup<T>(options: HttpStateLookupOptions<T>): (id: string) => Promise<T | undefined> {
  const base = options.baseUrl.replace(/\/+$/, '')
  const fetchFn = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 5_000
  return async (id) => {
    const url = `${base}${options.path(encodeURIComponent(id))}`
    let response: Response
    try {
      response = await fetchFn(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
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
      return options.parse(await response.json())
    } catch (error) {
      throw new StateUnavailable(url, `an answer that is not the expected state: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
}
