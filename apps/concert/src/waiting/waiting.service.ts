import type { TokenVerifier } from '@tidings/auth'
import { consumer, type FeedReader } from '@tidings/core'
import { openSubscription, type AnyService, type ServiceContext } from '@tidings/http'
import { migrate, platformMigrations, type Queryable } from '@tidings/postgres'
import { PAYMENT_COMPLETED, PAYMENT_SOURCE, type PaymentCompleted } from '../payment/payment.contracts'
import { PgWaitingRoomStore, waitingRoomMigrations } from './pg-waiting-room.store'
import { DEFAULT_WAITING_ROOM, type WaitingRoomSettings } from './waiting-room'
import { WaitingRoom } from './waiting-room.service'
import { waitingRoutes } from './waiting.routes'

export const WAITING_SCHEMA = 'concert_waiting'
export const WAITING_SERVICE = 'concert.waiting'

export interface WaitingServiceDeps {
  verify: TokenVerifier
  /** Whether the catalog has the concert. */
  concertExists: (concertId: string) => Promise<boolean>
  /** The payment service's feed: a completed payment ends its payer's token and frees the place. */
  payments: FeedReader
  settings?: Partial<WaitingRoomSettings> | undefined
}

/** The waiting room (waiting, active and expiration) on the application's database. */
export async function waitingService(ctx: ServiceContext, deps: WaitingServiceDeps): Promise<AnyService & { room: WaitingRoom }> {
  const { db, clock, logger } = ctx
  await migrate(db, WAITING_SCHEMA, 'tidings', platformMigrations)
  await migrate(db, WAITING_SCHEMA, WAITING_SERVICE, waitingRoomMigrations)
  const room = new WaitingRoom(new PgWaitingRoomStore(db, WAITING_SCHEMA), { ...DEFAULT_WAITING_ROOM, ...deps.settings }, clock, logger)
  const payments = await openSubscription(
    ctx,
    WAITING_SCHEMA,
    consumer<Queryable>({
      name: 'concert.waiting-payments',
      follows: [PAYMENT_SOURCE],
      async handle(tx, message) {
        if (message.type !== PAYMENT_COMPLETED) return
        const { concertId, memberId } = message.data as PaymentCompleted
        await room.paid(concertId, memberId, tx)
      },
      afterCommit(messages) {
        const concerts = new Set(messages.filter((m) => m.type === PAYMENT_COMPLETED).map((m) => (m.data as PaymentCompleted).concertId))
        for (const concertId of concerts) room.admit(concertId).catch((error: unknown) => logger.warn({ err: error, concertId }, 'waiting room: admission after a payment failed (the tick will admit)'))
      },
    }),
    [deps.payments],
  )
  return {
    name: WAITING_SERVICE,
    room,
    routes: waitingRoutes({ room, verify: deps.verify, concertExists: deps.concertExists, clock }),
    feeds: {},
    subscriptions: [payments],
    workers: [room],
    producerSchemas: [],
    consumerSchemas: [WAITING_SCHEMA],
  }
}
