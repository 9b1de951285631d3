import { inProcessEvictionBus, type Clock, type EvictionBus, type Logger } from '@tidings/core'
import { hostServices, serviceContext, type AnyService, type Host, type ServiceContext } from '@tidings/http'
import type { TokenVerifier } from '@tidings/auth'
import { identityService, type IdentityOptions } from '@tidings/identity'
import type { Database } from '@tidings/postgres'
import { CONCERT_SCHEMA, concertService, openConcertProducer } from './concert/concert.service'
import { ReservationRepository } from './concert/reservation.repository'
import { SeatCache } from './concert/seat-cache'
import { openPaymentProducer, paymentService } from './payment/payment.service'
import { openWalletProducer, walletService } from './wallet/wallet.service'
import { waitingService } from './waiting/waiting.service'
import { channelService } from './waiting/channel.service'
import type { QueueChannelSettings } from './waiting/queue-channel'
import { RedisWaitingRoomStore } from './waiting/redis-waiting-room.store'
import type { WaitingRoomSettings } from './waiting/waiting-room'

export interface ConcertOptions {
  db: Database
  clock?: Clock
  logger?: Logger
  instanceId?: string
  consistencyTimeoutMs?: number
  identity?: IdentityOptions
  /** The deployment's operator secret: it schedules concerts (and grants members roles). */
  operatorToken?: string | undefined
  holdTtlMs?: number | undefined
  /** Checks members' tokens instead of the identity service (tests with thousands of members, signed by a test issuer). */
  verify?: TokenVerifier
  evictions?: EvictionBus
  waitingRoom?: Partial<WaitingRoomSettings>
  channel?: Partial<QueueChannelSettings>
  paymentStepTimeoutMs?: number
}

export type Concert = Host & { services: AnyService[] }

/**
 * The concert reservation system on its own in one process, beside the identity service its members sign
 * up and log in with (tests; `npm start` hosts it beside the board and orders with `concertServices`).
 */
export async function composeConcert(options: ConcertOptions): Promise<Concert> {
  const ctx = serviceContext(options)
  const identity = await identityService(ctx, { ...options.identity, operatorToken: options.operatorToken })
  const services = [identity, ...(await concertServices(ctx, { verify: options.verify ?? identity.verifier, operatorToken: options.operatorToken, holdTtlMs: options.holdTtlMs, evictions: options.evictions, waitingRoom: options.waitingRoom, channel: options.channel, paymentStepTimeoutMs: options.paymentStepTimeoutMs }))]
  return { ...hostServices(ctx, services), services }
}

export interface ConcertServicesOptions {
  /** Checks the tokens of the identity service: the concert's customers are members. */
  verify: TokenVerifier
  operatorToken?: string | undefined
  /** Schedule a demo concert (two performances of 50 seats) when there is none. */
  demo?: boolean | undefined
  /** How long a seat stays held for its member to pay (default 5 min). */
  holdTtlMs?: number | undefined
  /** Carries seat-list evictions between the concert service's instances (none: one instance). */
  evictions?: EvictionBus | undefined
  waitingRoom?: Partial<WaitingRoomSettings> | undefined
  /** How long a payment's step waits for its participant before it is undone (default 30 s). */
  paymentStepTimeoutMs?: number | undefined
  /** Keep the waiting room's tokens in Redis at this URL (default: the application's database). */
  waitingRoomRedisUrl?: string | undefined
  /** The client channel's limits and pace. */
  channel?: Partial<QueueChannelSettings> | undefined
}

/** The concert system's services (so far: the catalog with seats and holds, the wallet, payments and the waiting room). */
export async function concertServices(ctx: ServiceContext, options: ConcertServicesOptions): Promise<AnyService[]> {
  const seats = new SeatCache()
  const concert = await openConcertProducer(ctx, seats, options.evictions)
  const wallet = await openWalletProducer(ctx)
  const payment = await openPaymentProducer(ctx)
  const reservations = new ReservationRepository(CONCERT_SCHEMA)
  const store = options.waitingRoomRedisUrl ? new RedisWaitingRoomStore(options.waitingRoomRedisUrl) : undefined
  // The room tells the channel beside it which rooms changed; across processes the deployment's bus does.
  const changes = options.evictions ?? inProcessEvictionBus({ logger: ctx.logger })
  const waiting = await waitingService(ctx, { verify: options.verify, concerts: concert.feed, payments: payment.feed, settings: options.waitingRoom, store, changes })
  const { passes } = waiting
  return [
    await concertService(ctx, concert, { ...options, payments: payment.feed, seats, passes }),
    await walletService(ctx, wallet, { ...options, payments: payment.feed }),
    await paymentService(ctx, payment, { ...options, participants: [wallet.feed, concert.feed], sales: concert.feed, reservation: (id) => reservations.find(ctx.db, id), passes }),
    waiting,
    channelService(ctx, { store: waiting.store, changes, settings: options.channel }),
  ]
}
