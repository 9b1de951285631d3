import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import type { Clock, IdGenerator } from '@tidings/core'
import { stateRoutes, uuid, validBody, validParams, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { MAX_SEATS } from './concert'
import { scheduleHoldExpiry } from './hold-expiry'
import { cancel, hold, HoldLimitReached, MAX_HOLDS, PerformanceNotFound, ReservationNotFound, SeatTaken, type Reservation } from './reservation'
import type { ReservationRepository } from './reservation.repository'
import type { SeatCache } from './seat-cache'
import { presentedPass, QUEUE_TOKEN_HEADER, requireActivePass, type QueuePassLookup } from '../waiting/queue-pass'
import { reservationStatePath, reservationStatesPath } from './concert.contracts'

/** A seat to hold (exported for the fuzz suite). */
export const HoldSeatBody = z.strictObject({ performanceId: uuid, seatNo: z.number().int().min(1).max(MAX_SEATS) })
const PerformanceParams = z.object({ performanceId: uuid })
const ReservationParams = z.object({ reservationId: uuid })

/** A reservation as its owner sees it. */
const view = ({ version: _, memberId: __, ...r }: Reservation) => r

export interface ReservationRoutesDeps {
  db: Database
  uow: UnitOfWork
  /** The concert service's schema: where a hold's expiry is scheduled. */
  schema: string
  reservations: ReservationRepository
  /** The performances' seat lists, kept by this instance until a seat changes. */
  seats: SeatCache
  /** What the waiting room says of a queue token. */
  passes: QueuePassLookup
  verify: TokenVerifier
  newId: IdGenerator
  clock: Clock
  holdTtlMs: number
}

/**
 * Seats and holds, for members ACTIVE in the concert's waiting room (`Queue-Token`): a member sees a
 * performance's seats, holds a free one for a while (at most four of a
 * performance at once), reads and cancels their own reservations (a paid one before the performance: the
 * seat is free at once, and the payment service refunds it). Anyone else's reservation is not found.
 */
export function reservationRoutes(deps: ReservationRoutesDeps): Hono<MemberEnv> {
  const { db, uow, schema, reservations, verify, newId, clock } = deps
  const routes = new Hono<MemberEnv>()
  const member = requireMember(verify)

  const owned = async (via: Pick<Database, 'query'>, memberId: string, reservationId: string, lock = false) => {
    const reservation = lock ? await reservations.forUpdate(via, reservationId) : await reservations.find(via, reservationId)
    if (!reservation || reservation.memberId !== memberId) throw new ReservationNotFound(reservationId)
    return reservation
  }

  /** The concert of a performance (they never change): the one the caller must be ACTIVE for. */
  const concerts = new Map<string, string>()
  const concertOf = async (performanceId: string): Promise<string> => {
    let concertId = concerts.get(performanceId)
    if (concertId === undefined) {
      concertId = (await reservations.performance(db, performanceId))?.concertId
      if (concertId === undefined) throw new PerformanceNotFound(performanceId)
      if (concerts.size >= 10_000) concerts.clear()
      concerts.set(performanceId, concertId)
    }
    return concertId
  }
  const pass = (c: { req: { header(name: string): string | undefined } }) => presentedPass(c.req.header(QUEUE_TOKEN_HEADER), deps.passes)

  routes.get('/api/performances/:performanceId/seats', member, validParams(PerformanceParams), async (c) => {
    const { performanceId } = c.req.valid('param')
    requireActivePass(await pass(c), c.get('memberId'), await concertOf(performanceId), clock)
    const seats = await deps.seats.seats(performanceId, () => reservations.seats(db, performanceId))
    return c.json({ seats })
  })

  routes.post('/api/reservations', member, validBody(HoldSeatBody), async (c) => {
    const { performanceId, seatNo } = c.req.valid('json')
    const memberId = c.get('memberId')
    const presented = await pass(c)
    const { result, token } = await uow.run(async (tx) => {
      const performance = await reservations.performance(tx, performanceId)
      if (!performance) throw new PerformanceNotFound(performanceId)
      requireActivePass(presented, memberId, performance.concertId, clock)
      const { state, events } = hold(newId(), performance, seatNo, memberId, clock.now(), deps.holdTtlMs)
      if ((await reservations.heldBy(tx, memberId, performanceId)) >= MAX_HOLDS) throw new HoldLimitReached()
      if (!(await reservations.takeSeat(tx, performanceId, seatNo))) throw new SeatTaken(seatNo)
      await reservations.insert(tx, state, clock.now())
      await scheduleHoldExpiry(tx, schema, state)
      tx.record(...events)
      return state
    })
    withPosition(c, token)
    return c.json(view(result), 201)
  })

  routes.get('/api/reservations/:reservationId', member, validParams(ReservationParams), async (c) =>
    c.json(view(await owned(db, c.get('memberId'), c.req.valid('param').reservationId))),
  )

  routes.delete('/api/reservations/:reservationId', member, validParams(ReservationParams), async (c) => {
    const { result, token } = await uow.run(async (tx) => {
      const reservation = await owned(tx, c.get('memberId'), c.req.valid('param').reservationId, true)
      const performance = await reservations.performance(tx, reservation.performanceId)
      const { state, events } = cancel(reservation, performance!.startsAt, clock.now())
      await reservations.save(tx, reservation, state)
      tx.record(...events)
      return state
    })
    withPosition(c, token)
    return c.json(view(result))
  })

  // The payment service's lookup (a service route: the deployment's credential only).
  routes.route(
    '/',
    stateRoutes({
      path: reservationStatePath,
      batchPath: reservationStatesPath,
      id: uuid,
      states: (ids) => reservations.findMany(db, ids),
      notFound: (id) => new ReservationNotFound(id),
    }),
  )

  return routes
}
