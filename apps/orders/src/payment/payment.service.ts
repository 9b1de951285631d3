import type { TokenVerifier } from '@tidings/auth'
import { Dispatcher, type FeedReader } from '@tidings/core'
import { openProducer, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'
import { PAYMENT_SOURCE } from './payment.contracts'
import { paymentLedger } from './payment-ledger'
import { paymentReactions } from './payment.reactions'
import { PaymentRepository, paymentMigrations } from './payment.repository'
import { paymentRoutes } from './payment.routes'

export const PAYMENT_SCHEMA = 'orders_payment'

/** Payment's command side; every movement's ledger row commits with it (an in-transaction handler). */
export function openPaymentProducer(ctx: ServiceContext): Promise<Producer> {
  const payments = new PaymentRepository(PAYMENT_SCHEMA)
  return openProducer(ctx, PAYMENT_SCHEMA, PAYMENT_SOURCE, paymentMigrations, { dispatcher: paymentLedger(new Dispatcher<Queryable>(), payments) })
}

/** Customers' credit: topped up by an operator, charged for placed orders and refunded for canceled ones (it follows order). */
export async function paymentService(ctx: ServiceContext, producer: Producer, deps: { verify: TokenVerifier; orders: FeedReader }): Promise<AnyService> {
  const payments = new PaymentRepository(PAYMENT_SCHEMA)
  const follows = await openSubscription(ctx, PAYMENT_SCHEMA, paymentReactions(producer.uow, payments, ctx.clock), [deps.orders])
  return {
    name: PAYMENT_SOURCE,
    routes: paymentRoutes({ db: ctx.db, uow: producer.uow, payments, verify: deps.verify }),
    feeds: { [PAYMENT_SOURCE]: producer.feed },
    subscriptions: [follows],
    producerSchemas: [PAYMENT_SCHEMA],
    consumerSchemas: [PAYMENT_SCHEMA],
  }
}
