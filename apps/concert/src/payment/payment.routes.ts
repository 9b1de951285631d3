import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { FINAL_SAGA_STATUSES, type Clock, type IdGenerator, type SagaDefinition } from '@tidings/core'
import { awaitOutcome, idempotent, NO_STORE, problemResponse, type ProgressSource, uuid, validBody, validParams, withPosition } from '@tidings/http'
import type { SagaRunner, StoredSaga, UnitOfWork } from '@tidings/postgres'
import { holdExpired, ReservationExpired, ReservationNotFound, ReservationNotHeld, type Reservation } from '../concert/reservation'
import { PaymentNotFound, paymentView, refusal, stepsOf } from './payment'
import type { SeatPayment } from './pay-for-seat'
import { presentedPass, QUEUE_TOKEN_HEADER, requireActivePass, type QueuePassLookup } from '../waiting/queue-pass'
import { refundIdOf } from './refund-sale'
import { claimReservation } from './payment-claims'

/** A payment for a held seat (exported for the fuzz suite): the amount is the seat's price, never the client's. */
export const PayBody = z.strictObject({ reservationId: uuid })
const PaymentParams = z.object({ paymentId: uuid })

export interface PaymentRoutesDeps {
  uow: UnitOfWork
  /** The orchestrator's schema (its sagas, and the claims of reservations by payments). */
  schema: string
  runner: SagaRunner
  payForSeat: SagaDefinition<SeatPayment>
  /** The participants' replies: a payment's answer waits on them. */
  progress: readonly Pick<ProgressSource, 'onProgress'>[]
  /** A reservation as the concert service has it now. */
  reservation: (reservationId: string) => Promise<Reservation | undefined>
  /** What the waiting room says of a queue token. */
  passes: QueuePassLookup
  verify: TokenVerifier
  newId: IdGenerator
  clock: Clock
  /** How long a payment's request waits for its outcome before it answers `202` (default 5 s). */
  outcomeWaitMs?: number | undefined
}

/**
 * Payments: a member ACTIVE in the concert's waiting room (`Queue-Token`) pays for a seat they hold, with an `Idempotency-Key` (the same key again is the same
 * payment, never a second one), and reads their own payments. The answer waits for the saga: `201` when it
 * completed, `409` with the reason when it did not, `202` and where to look when it is still running.
 */
export function paymentRoutes(deps: PaymentRoutesDeps): Hono<MemberEnv> {
  const { uow, runner, verify, clock } = deps
  const routes = new Hono<MemberEnv>()
  const member = requireMember(verify)

  const ownPayment = async (memberId: string, paymentId: string): Promise<StoredSaga> => {
    const saga = await runner.find(paymentId)
    if (!saga || saga.type !== deps.payForSeat.name || (saga.state as SeatPayment).memberId !== memberId) throw new PaymentNotFound(paymentId)
    return saga
  }

  routes.post('/api/payments', member, idempotent(uow, { required: true }), validBody(PayBody), async (c) => {
    const memberId = c.get('memberId')
    const { reservationId } = c.req.valid('json')
    // Read before the transaction (its service may be elsewhere); judged inside it, so that a replay of the
    // key's stored outcome (the process died before answering) does not judge the seat as it is now.
    const reservation = await deps.reservation(reservationId)
    const presented = await presentedPass(c.req.header(QUEUE_TOKEN_HEADER), deps.passes)
    const { result: paymentId, token } = await uow.run(async (tx) => {
      if (!reservation || reservation.memberId !== memberId) throw new ReservationNotFound(reservationId)
      requireActivePass(presented, memberId, reservation.concertId, clock)
      if (reservation.status === 'EXPIRED' || (reservation.status === 'HELD' && holdExpired(reservation, clock.now()))) throw new ReservationExpired()
      if (reservation.status !== 'HELD') throw new ReservationNotHeld(reservation.status)
      const payment: SeatPayment = { paymentId: deps.newId(), memberId, concertId: reservation.concertId, reservationId, amount: reservation.price }
      await claimReservation(tx, deps.schema, reservationId, payment.paymentId)
      await runner.start(tx, deps.payForSeat, payment, { id: payment.paymentId })
      return payment.paymentId
    })
    withPosition(c, token)
    const saga = await awaitOutcome(
      () => runner.find(paymentId),
      (s) => s !== undefined && FINAL_SAGA_STATUSES.includes(s.status),
      { progress: deps.progress, ...(deps.outcomeWaitMs !== undefined ? { timeoutMs: deps.outcomeWaitMs } : {}) },
    )
    const view = paymentView(saga!)
    if (view.status === 'COMPLETED') return c.json(view, 201, NO_STORE)
    if (view.status !== 'PENDING') return problemResponse(refusal(view))
    c.header('Location', `/api/payments/${paymentId}`)
    return c.json(view, 202, NO_STORE)
  })

  routes.get('/api/payments/:paymentId', member, validParams(PaymentParams), async (c) => {
    const saga = await ownPayment(c.get('memberId'), c.req.valid('param').paymentId)
    const refund = await runner.find(refundIdOf(saga.id))
    const history = [...(await runner.history(saga.id)), ...(refund ? await runner.history(refund.id) : [])]
    return c.json({ ...paymentView(saga, refund), steps: stepsOf(history) }, 200, NO_STORE)
  })

  return routes
}
