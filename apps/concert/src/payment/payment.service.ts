import type { TokenVerifier } from '@tidings/auth'
import { uuidv7, type FeedReader } from '@tidings/core'
import { openProducer, openSagas, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import type { ReservationLookup } from '../concert/concert.contracts'
import type { QueuePassLookup } from '../waiting/queue-pass'
import { payForSeat } from './pay-for-seat'
import { paymentClaimMigrations } from './payment-claims'
import { refundSale } from './refund-sale'
import { saleRefunds } from './sale-refunds'
import { PAYMENT_SOURCE } from './payment.contracts'
import { paymentRoutes } from './payment.routes'

export const PAYMENT_SCHEMA = 'concert_payment'

/** The orchestrator's feed: the commands its sagas send, and every payment's outcome. */
export function openPaymentProducer(ctx: ServiceContext): Promise<Producer> {
  return openProducer(ctx, PAYMENT_SCHEMA, PAYMENT_SOURCE, paymentClaimMigrations)
}

export interface PaymentServiceDeps {
  verify: TokenVerifier
  /** The participants' feeds, where their replies come from: the wallet's and the concert service's. */
  participants: readonly FeedReader[]
  /** The concert service's feed: a sold seat given back starts its refund. */
  sales: FeedReader
  /** A reservation as the concert service has it now (in one process, its repository; across processes, its internal route). */
  reservation: ReservationLookup
  /** What the waiting room says of a queue token: paying is for ACTIVE members. */
  passes: QueuePassLookup
  outcomeWaitMs?: number | undefined
  /** How long a payment's step waits for its participant before it is undone (default 30 s). */
  paymentStepTimeoutMs?: number | undefined
}

/**
 * Payments for held seats: one saga each (debit the wallet, confirm the seat, refund if it cannot be), and
 * one more when a member gives a sold seat back (its refund).
 */
export async function paymentService(ctx: ServiceContext, producer: Producer, deps: PaymentServiceDeps): Promise<AnyService> {
  const definition = payForSeat(deps.paymentStepTimeoutMs ? { stepTimeout: deps.paymentStepTimeoutMs } : {})
  const refund = refundSale()
  const sagas = await openSagas(ctx, PAYMENT_SCHEMA, { uow: producer.uow, sagas: [definition, refund], replies: { name: 'concert.payment-replies', feeds: deps.participants } })
  const refunds = await openSubscription(ctx, PAYMENT_SCHEMA, saleRefunds(producer.uow, sagas.runner, refund), [deps.sales])
  return {
    name: PAYMENT_SOURCE,
    routes: paymentRoutes({
      uow: producer.uow,
      schema: PAYMENT_SCHEMA,
      runner: sagas.runner,
      payForSeat: definition,
      progress: [sagas.replies],
      reservation: deps.reservation,
      passes: deps.passes,
      verify: deps.verify,
      newId: () => uuidv7(ctx.clock.now().getTime()),
      clock: ctx.clock,
      outcomeWaitMs: deps.outcomeWaitMs,
    }),
    feeds: { [PAYMENT_SOURCE]: producer.feed },
    subscriptions: [sagas.replies, refunds],
    workers: [sagas.timers],
    sagas: [sagas.runner],
    producerSchemas: [PAYMENT_SCHEMA],
    consumerSchemas: [PAYMENT_SCHEMA],
  }
}
