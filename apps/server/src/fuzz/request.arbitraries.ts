import fc from 'fast-check'
import type { AuthSpec, BodySpec, FuzzRequest } from './fuzz-request'
import { methodFor, queryString } from './garbage.arbitraries'
import { extraHeaders } from './headers.arbitraries'
import type { BodyArbitrary, JsonBody } from './schema.arbitraries'

export interface RouteSpec {
  /** Names the route in the mix and in reports, e.g. `POST /api/posts`. */
  route: string
  method: string
  /** The path, its parameters filled in (already encoded). */
  path: fc.Arbitrary<string>
  /** Query parameters as pairs (values encoded by `queryString`). */
  query?: fc.Arbitrary<ReadonlyArray<readonly [string, string]>>
  auth?: fc.Arbitrary<AuthSpec | undefined>
  body?: BodyArbitrary
  /** Headers of the route's own, e.g. a form's `Origin`. */
  headers?: fc.Arbitrary<Record<string, string>>
}

/**
 * One request aimed at a route. A third are sent as a well-behaved client would (the route's method, a
 * valid-looking body with the right content type, a good credential or none, no odd headers), so that the
 * handlers behind the validation run often; the rest get everything.
 */
export function routeRequest(spec: RouteSpec): fc.Arbitrary<FuzzRequest> {
  const noBody = fc.constant<JsonBody>({ contentType: undefined, body: undefined })
  const auth = spec.auth ?? fc.constant(undefined)
  const fuzzy = fc.record({
    method: methodFor(spec.method),
    path: spec.path,
    query: spec.query ?? fc.constant([]),
    auth,
    body: spec.body ?? noBody,
    own: spec.headers ?? fc.constant({}),
    extra: extraHeaders,
  })
  const clean = fc.record({
    method: fc.constant(spec.method),
    path: spec.path,
    query: spec.query ?? fc.constant([]),
    auth: auth.filter(isCleanAuth),
    body: spec.body?.clean ?? noBody,
    own: spec.headers ?? fc.constant({}),
    extra: fc.constant({}),
  })
  return fc.oneof({ arbitrary: fuzzy, weight: 2 }, { arbitrary: clean, weight: 1 }).map(({ method, path, query, auth, body, own, extra }) => {
    const headers: Record<string, string> = { ...extra, ...own }
    if (body.contentType !== undefined) headers['content-type'] = body.contentType
    // No body on reads: a HEAD answer has none to frame it with, and GET routes never read one.
    const withBody: BodySpec | undefined = method === 'GET' || method === 'HEAD' ? undefined : body.body
    return { route: spec.route, method, path: path + queryString(query), headers, ...(auth ? { auth } : {}), ...(withBody ? { body: withBody } : {}) } satisfies FuzzRequest
  })
}

/** A credential a client of ours would send, where it belongs (forged, revoked and garbage ones are not). */
function isCleanAuth(auth: AuthSpec | undefined): boolean {
  if (auth === undefined) return true
  const kind = auth.credential.kind
  const placed = auth.placement.in !== 'authorization' || auth.placement.template === 'Bearer {}'
  return placed && (kind === 'token' || kind === 'operatorSecret' || kind === 'serviceCredential' || (kind === 'raw' && auth.placement.in === 'cookie' && auth.placement.name === 'tidings_console'))
}

/** Weighted routes of one app. */
export function app(...routes: Array<[number, fc.Arbitrary<FuzzRequest>]>): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(...routes.map(([weight, arbitrary]) => ({ weight, arbitrary })))
}

/** Any subset of these query parameters, each with a value of its arbitrary. */
export function queryOf(pairs: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<ReadonlyArray<readonly [string, string]>> {
  return fc.subarray(Object.keys(pairs)).chain((keys) => fc.tuple(...keys.map((k) => pairs[k]!.map((v) => [k, v] as const))))
}
