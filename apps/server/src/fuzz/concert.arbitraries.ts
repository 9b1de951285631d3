import fc from 'fast-check'
import { ChargeBody, HoldSeatBody, PayBody, ScheduleConcertBody } from '@tidings/concert'
import { authSpec, credential } from './auth.arbitraries'
import type { FuzzRequest } from './fuzz-request'
import type { World } from './fuzz-world'
import { capForUrl, encodeSegment, idSegment, nastyString, numberParam } from './garbage.arbitraries'
import { app, queryOf, routeRequest } from './request.arbitraries'
import { jsonBody } from './schema.arbitraries'

const instant = fc.oneof(
  { arbitrary: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()), weight: 6 },
  { arbitrary: fc.constantFrom('2027-04-01T19:00:00+09:00', '2027-02-30T00:00:00Z', '1999-12-31T23:59:59Z', '0001-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '2027-04-01', 'tomorrow', ''), weight: 2 },
  { arbitrary: nastyString, weight: 1 },
)
const goodTitle = fc.lorem({ maxCount: 5 }).filter((t) => t.trim().length > 0)
const title = fc.oneof({ arbitrary: goodTitle, weight: 5 }, { arbitrary: fc.constantFrom('', ' ', 'x'.repeat(201), '\u202Eevil', 'tab\tin'), weight: 2 }, { arbitrary: nastyString, weight: 2 })

/** Small halls when valid (a scheduled performance makes a row per seat), every bound when not. */
const seatCount = { valid: fc.integer({ min: 1, max: 60 }), any: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constantFrom(0, -1, 10_000, 10_001, 2.5, 1e300)) }
const concertHints = { title: { valid: goodTitle, any: title }, salesOpenAt: instant, 'performances.items.startsAt': instant, 'performances.items.seatCount': seatCount }

/** An `Idempotency-Key`: mostly fresh, sometimes one used before, missing, empty or too long. */
const idempotencyKey: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { arbitrary: fc.uuid().map((key) => ({ 'Idempotency-Key': key })), weight: 6 },
  { arbitrary: fc.constantFrom('fuzz-key-1', 'fuzz-key-2').map((key) => ({ 'Idempotency-Key': key })), weight: 2 },
  { arbitrary: fc.constantFrom<Record<string, string>>({}, { 'Idempotency-Key': '' }, { 'Idempotency-Key': 'k'.repeat(256) }, { 'Idempotency-Key': 'tab\tkey' }), weight: 2 },
)

/** The concert system's routes: its catalog (operators schedule, anyone lists), seats and holds, payments, and a member's own wallet. */
export function concertRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const concerts = idSegment(world.ids.concerts)
  const performances = idSegment(world.ids.performances)
  const reservations = idSegment([...world.ids.aliceReservations, ...world.ids.bobReservations])
  const payments = idSegment(world.ids.bobPayments)
  const queueTokens = fc.oneof(
    { arbitrary: fc.constantFrom(...world.ids.queueTokens), weight: 6 },
    { arbitrary: fc.constantFrom('A'.repeat(32), 'short', '', 'x'.repeat(300)), weight: 2 },
    { arbitrary: nastyString.map(encodeSegment).map(capForUrl), weight: 1 },
  )
  /** The `Queue-Token` of an active member, mostly Alice's. */
  const queueHeader: fc.Arbitrary<Record<string, string>> = fc.oneof(
    { arbitrary: fc.constantFrom(...world.ids.queueTokens).map((t) => ({ 'Queue-Token': t })), weight: 6 },
    { arbitrary: fc.constantFrom<Record<string, string>>({}, { 'Queue-Token': '' }, { 'Queue-Token': 'A'.repeat(32) }), weight: 2 },
  )
  const payHeaders = fc.tuple(idempotencyKey, queueHeader).map(([a, b]) => ({ ...a, ...b }))
  const holdHints = { performanceId: { valid: fc.constantFrom(...world.ids.performances), any: performances }, seatNo: { valid: fc.integer({ min: 1, max: 55 }), any: fc.oneof(fc.integer({ min: -2, max: 60 }), fc.constantFrom(10_000, 10_001, 1.5)) } }
  const payHints = { reservationId: { valid: fc.constantFrom(...world.ids.aliceReservations, ...world.ids.bobReservations), any: reservations } }
  const members = authSpec()
  const operators = authSpec({ credentials: fc.oneof(credential(), fc.constantFrom({ kind: 'token', who: 'oper' } as const)) })
  const ledgerPage = queryOf({ after: idSegment(world.ids.memberIds), limit: numberParam([1, 100, 500]) })

  return app(
    [4, routeRequest({ route: 'POST /api/concerts', method: 'POST', path: fc.constant('/api/concerts'), auth: operators, body: jsonBody(ScheduleConcertBody, concertHints) })],
    [2, routeRequest({ route: 'GET /api/concerts', method: 'GET', path: fc.constant('/api/concerts'), query: queryOf({ limit: numberParam([1, 50, 100]) }) })],
    [2, routeRequest({ route: 'GET /api/concerts/:concertId', method: 'GET', path: concerts.map((c) => `/api/concerts/${c}`) })],
    [2, routeRequest({ route: 'GET /api/performances/:performanceId/seats', method: 'GET', path: performances.map((p) => `/api/performances/${p}/seats`), auth: members, headers: queueHeader })],
    [4, routeRequest({ route: 'POST /api/reservations', method: 'POST', path: fc.constant('/api/reservations'), auth: members, headers: queueHeader, body: jsonBody(HoldSeatBody, holdHints) })],
    [2, routeRequest({ route: 'GET /api/reservations/:reservationId', method: 'GET', path: reservations.map((r) => `/api/reservations/${r}`), auth: members })],
    [2, routeRequest({ route: 'DELETE /api/reservations/:reservationId', method: 'DELETE', path: reservations.map((r) => `/api/reservations/${r}`), auth: members })],
    [4, routeRequest({ route: 'POST /api/payments', method: 'POST', path: fc.constant('/api/payments'), auth: members, headers: payHeaders, body: jsonBody(PayBody, payHints) })],
    [2, routeRequest({ route: 'POST /api/concerts/:concertId/queue', method: 'POST', path: concerts.map((c) => `/api/concerts/${c}/queue`), auth: members })],
    [3, routeRequest({ route: 'GET /api/queue/:token', method: 'GET', path: queueTokens.map((t) => `/api/queue/${t}`) })],
    [1, routeRequest({ route: 'DELETE /api/queue/:token', method: 'DELETE', path: queueTokens.map((t) => `/api/queue/${t}`), auth: members })],
    [2, routeRequest({ route: 'GET /api/payments/:paymentId', method: 'GET', path: payments.map((p) => `/api/payments/${p}`), auth: members })],
    [4, routeRequest({ route: 'POST /api/wallet/charges', method: 'POST', path: fc.constant('/api/wallet/charges'), auth: members, body: jsonBody(ChargeBody) })],
    [2, routeRequest({ route: 'GET /api/wallet', method: 'GET', path: fc.constant('/api/wallet'), auth: members })],
    [2, routeRequest({ route: 'GET /api/wallet/ledger', method: 'GET', path: fc.constant('/api/wallet/ledger'), auth: members, query: ledgerPage })],
  )
}
