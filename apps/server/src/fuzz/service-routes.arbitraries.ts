import fc from 'fast-check'
import { credential } from './auth.arbitraries'
import type { AuthSpec, Credential, FuzzRequest, Placement } from './fuzz-request'
import type { World } from './fuzz-world'
import { idSegment, nastyString, numberParam, oddMethod } from './garbage.arbitraries'
import { positionToken } from './headers.arbitraries'
import { app, queryOf, routeRequest } from './request.arbitraries'

/** The one way to present the service credential: anything else must be refused. */
export const presentsServiceCredential = (auth: AuthSpec | undefined): boolean =>
  auth?.credential.kind === 'serviceCredential' && auth.placement.in === 'authorization' && (auth.placement.template === 'Bearer {}' || auth.placement.template === 'Bearer {} ')

/** Whether a request aims at the service routes, however its path is spelled. */
export const isServiceRoute = (route: string): boolean => route.startsWith('service ')

const FEEDS = ['identity.member', 'board.post', 'board.comment', 'orders.order', 'orders.payment', 'orders.delivery', 'concert.concert', 'concert.wallet', 'concert.payment']

/**
 * `/internal/*` and `/api/feeds/*` answer only the deployment's service credential: without it (no
 * header, a member's or the operator's token, a forged one, the credential in the wrong place or shape)
 * they are 401 before any route, and spellings of their paths must not slip past the guard. With it, a
 * few requests check that the routes behind it refuse bad input cleanly too (short waits only).
 */
export function serviceRouteRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const ids = [...world.ids.memberIds, ...world.ids.alicePosts, ...world.ids.aliceComments]
  const placements = fc.oneof(
    { arbitrary: fc.constantFrom<Placement>({ in: 'authorization', template: 'Bearer {}' }), weight: 3 },
    {
      arbitrary: fc.constantFrom<Placement>(
        { in: 'authorization', template: 'bearer {}' },
        { in: 'authorization', template: 'Bearer  {}' },
        { in: 'authorization', template: '{}' },
        { in: 'authorization', template: 'Basic {}' },
        { in: 'authorization', template: 'Bearer {}x' },
        { in: 'authorization', template: 'Bearer {},{}' },
        { in: 'query', name: 'access_token' },
        { in: 'cookie', name: 'tidings_session' },
      ),
      weight: 3,
    },
  )
  const service: Credential = { kind: 'serviceCredential' }
  const auth = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.record({ credential: fc.oneof(fc.constant(service), credential({ secrets: 3 })), placement: placements }), weight: 8 },
  )
  const things = fc.constantFrom('members', 'posts', 'comments', 'reservations', 'queue-tokens')
  const internalPath = fc.oneof(
    { arbitrary: fc.tuple(things, idSegment(ids)).map(([t, id]) => `/internal/${t}/${id}`), weight: 4 },
    { arbitrary: idSegment(world.ids.memberIds).map((id) => `/internal/members/${id}/tokens`), weight: 2 },
    { arbitrary: things.map((t) => `/internal/${t}`), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '/internal',
        '/internal/',
        '/internal/nothing',
        '//internal/members',
        '/./internal/members',
        '/api/../internal/members',
        '/api/board/..%2F..%2Finternal/members',
        '/%69nternal/members',
        '/INTERNAL/members',
        '/internal%2Fmembers',
        '/internal/members%2F..%2F..%2Fapi%2Ffeeds%2Fboard.post',
      ),
      weight: 2,
    },
  )
  const feedPath = fc.oneof(
    { arbitrary: fc.constantFrom(...FEEDS, 'no.such').map((f) => `/api/feeds/${f}`), weight: 4 },
    { arbitrary: fc.constantFrom(...FEEDS).map((f) => `/api/feeds/${f}/lag`), weight: 2 },
    { arbitrary: nastyString.map((s) => `/api/feeds/${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '')).slice(0, 4000)}`), weight: 1 },
    { arbitrary: fc.constantFrom('/api/feeds', '/api/feeds/', '//api/feeds/board.post', '/api/./feeds/board.post', '/api/feeds/board.post/../board.comment', '/%61pi/feeds/board.post', '/api/feeds%2Fboard.post'), weight: 2 },
  )
  const feedQuery = queryOf({
    after: fc.oneof(positionToken.map((t) => t.split('@')[1] ?? t), fc.constantFrom('0', '1-1', '999999999-1', 'x', '-1-1')),
    limit: numberParam([1, 100, 1000]),
    // Short only: with the credential, a valid wait holds the request open that long.
    wait: fc.constantFrom('0', '1', '50', '-1', 'x', '25001', '1e3', '99999999999'),
    consumer: fc.oneof(fc.constantFrom('fuzz-reader', 'a'.repeat(201), ''), nastyString),
  })

  return app(
    [6, routeRequest({ route: 'service GET /internal/*', method: 'GET', path: internalPath, auth, query: queryOf({ ids: fc.array(idSegment(ids), { maxLength: 5 }).map((a) => a.join(',')) }) })],
    [5, routeRequest({ route: 'service GET /api/feeds/*', method: 'GET', path: feedPath, auth, query: feedQuery })],
    [1, routeRequest({ route: 'service * /internal/*', method: 'POST', path: internalPath, auth }).chain((r) => oddMethod.map((method) => ({ ...r, method: method === 'HEAD' ? 'DELETE' : method })))],
  )
}

/** The process's own routes and whatever is not a route at all. */
export function platformRequests(): fc.Arbitrary<FuzzRequest> {
  return app(
    [2, routeRequest({ route: 'GET /healthz', method: 'GET', path: fc.constantFrom('/healthz', '/readyz', '/metrics') })],
    [
      3,
      routeRequest({
        route: 'unknown paths',
        method: 'GET',
        path: fc.oneof(
          fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
          fc.constantFrom('/api', '/api/', '/api/nothing', '/%', '/%ZZ', '/%C0%AF', '/..', '/.env', '/api/posts/%00', '/' + 'a/'.repeat(1500), '/?%', '/*', '/api/board/posts/*'),
        ),
      }).chain((r) => fc.oneof(fc.constant(r), oddMethod.map((method) => ({ ...r, method })))),
    ],
  )
}
