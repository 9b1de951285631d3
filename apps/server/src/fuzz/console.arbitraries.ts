import fc from 'fast-check'
import type { AuthSpec, Credential, FuzzRequest } from './fuzz-request'
import type { World } from './fuzz-world'
import { credential } from './auth.arbitraries'
import { capForUrl, encodeSegment, nastyString } from './garbage.arbitraries'
import { formBody } from './board-pages.arbitraries'
import { app, queryOf, routeRequest } from './request.arbitraries'

/**
 * The console: its page and sign-in, its data (the operator token, or a session signed in with it) and
 * its actions (the token only). Actions with the real token rebuild real subscriptions: the fuzz waits for
 * the rebuild before it fingerprints again.
 */
export function consoleRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const secret: Credential = { kind: 'operatorSecret' }
  const bearer = fc.oneof(
    { arbitrary: fc.constant<Credential>(secret), weight: 3 },
    { arbitrary: credential({ secrets: 2 }), weight: 7 },
  )
  const sessionCookie: Credential = world.consoleSession ? { kind: 'raw', value: world.consoleSession } : secret
  const viewer: fc.Arbitrary<AuthSpec | undefined> = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: bearer.map((c): AuthSpec => ({ credential: c, placement: { in: 'authorization', template: 'Bearer {}' } })), weight: 5 },
    {
      arbitrary: fc
        .oneof(fc.constant(sessionCookie), fc.constantFrom<Credential>({ kind: 'raw', value: '9999999999999.' + 'A'.repeat(43) }, { kind: 'raw', value: `${Date.now() + 3_600_000}.${'_'.repeat(43)}` }, secret))
        .map((c): AuthSpec => ({ credential: c, placement: { in: 'cookie', name: 'tidings_console' } })),
      weight: 3,
    },
  )
  const actor = viewer
  const sameOrigin = fc.oneof({ arbitrary: fc.constant<Record<string, string>>({ origin: world.origin }), weight: 4 }, { arbitrary: fc.constantFrom<Record<string, string>>({ origin: 'http://evil.example' }, {}, { origin: 'null' }), weight: 1 })
  const sources = fc.oneof(fc.constantFrom('identity.member', 'board.post', 'board.comment', 'orders.order', 'orders.payment', 'orders.delivery', 'no.such'), nastyString)
  const subscription = fc.oneof({ arbitrary: fc.constantFrom(...world.ids.subscriptions), weight: 2 }, { arbitrary: nastyString.map(encodeSegment).map(capForUrl), weight: 3 }, { arbitrary: fc.constantFrom('x'.repeat(201), '..', '%2F', 'tidings.scheduler'), weight: 1 })
  const schema = fc.oneof(fc.constantFrom(...world.ids.consumerSchemas, 'public', 'pg_catalog', 'information_schema'), nastyString.map(encodeSegment).map(capForUrl), fc.constant('x'.repeat(64)))
  const letterId = fc.oneof(fc.constantFrom('1', '0', '-1', '999999999999999999', '9999999999999999999', '1e3', 'abc', '%00'), fc.nat().map(String))
  const explorer = queryOf({
    explorer: fc.constantFrom('order-status', 'nope', ''),
    orderId: fc.oneof(fc.constantFrom(...world.ids.aliceOrders), fc.uuid(), nastyString),
    customerId: fc.oneof(fc.constantFrom(...world.ids.memberIds), nastyString),
  })

  return app(
    [4, routeRequest({ route: 'GET /console', method: 'GET', path: fc.oneof({ arbitrary: fc.constant('/console'), weight: 9 }, { arbitrary: fc.constant('/console/'), weight: 1 }), auth: viewer, query: explorer })],
    [2, routeRequest({ route: 'POST /console/session', method: 'POST', path: fc.constant('/console/session'), headers: sameOrigin, body: formBody({ token: fc.oneof(fc.constant(world.operatorSecret), fc.constant(world.serviceCredential), nastyString) }) })],
    [1, routeRequest({ route: 'POST /console/session/end', method: 'POST', path: fc.constant('/console/session/end'), headers: sameOrigin, auth: viewer })],
    [2, routeRequest({ route: 'GET /console/fragments/overview', method: 'GET', path: fc.constant('/console/fragments/overview'), auth: viewer })],
    [1, routeRequest({ route: 'GET /console/assets/console.js', method: 'GET', path: fc.constantFrom('/console/assets/console.js', '/console/assets/console.css', '/console/assets/../console.routes.tsx') })],
    [3, routeRequest({ route: 'GET /console/api/overview', method: 'GET', path: fc.constant('/console/api/overview'), auth: viewer })],
    [2, routeRequest({ route: 'GET /console/api/events', method: 'GET', path: fc.constant('/console/api/events'), auth: viewer, query: queryOf({ source: sources, type: nastyString, key: nastyString }) })],
    [3, routeRequest({ route: 'POST /console/api/dead-letters/:schema/:id/replay', method: 'POST', path: fc.tuple(schema, letterId).map(([s, id]) => `/console/api/dead-letters/${s}/${id}/replay`), auth: actor })],
    [2, routeRequest({ route: 'POST /console/api/subscriptions/:name/reset', method: 'POST', path: subscription.map((name) => `/console/api/subscriptions/${name}/reset`), auth: actor })],
  )
}
