import { followedFeed, serviceUrl, type ServiceOpeners } from '@tidings/http'
import { remoteIdentity } from '@tidings/identity'
import { concertSettingsFromEnv } from './concert-settings'
import { CONCERT_SOURCE, reservationLookupOverHttp } from './concert/concert.contracts'
import { concertService, openConcertProducer } from './concert/concert.service'
import { SeatCache } from './concert/seat-cache'
import { PAYMENT_SOURCE } from './payment/payment.contracts'
import { openPaymentProducer, paymentService } from './payment/payment.service'
import { WALLET_SOURCE } from './wallet/wallet.contracts'
import { openWalletProducer, walletService } from './wallet/wallet.service'
import { WAITING_SCHEMA, WAITING_SERVICE, waitingService } from './waiting/waiting.service'
import { CHANNEL_SERVICE, channelService } from './waiting/channel.service'
import type { WaitingRoomPart } from './waiting/waiting-room.service'
import { PgWaitingRoomStore } from './waiting/pg-waiting-room.store'
import { RedisWaitingRoomStore } from './waiting/redis-waiting-room.store'
import { queuePassLookupOverHttp } from './waiting/queue-pass.routes'

/**
 * Where a concert service running alone finds the others: the payment service reads reservations from
 * `CONCERT_CONCERT_URL`; the concert and payment services ask the waiting room (`CONCERT_WAITING_URL`)
 * what a queue token allows.
 */
export const CONCERT_CONCERT_URL = 'CONCERT_CONCERT_URL'
export const CONCERT_WALLET_URL = 'CONCERT_WALLET_URL'
export const CONCERT_PAYMENT_URL = 'CONCERT_PAYMENT_URL'
export const CONCERT_WAITING_URL = 'CONCERT_WAITING_URL'

/** One part of the waiting room as a process of its own; the parts hear each other's changes on the eviction bus. */
function waitingRoomPart(part: WaitingRoomPart): ServiceOpeners[string] {
  return async (ctx, env, resources) => {
    const settings = concertSettingsFromEnv(env)
    return waitingService(ctx, {
      verify: remoteIdentity(ctx, env).verify,
      concerts: followedFeed(ctx, env, CONCERT_SOURCE, CONCERT_CONCERT_URL),
      payments: followedFeed(ctx, env, PAYMENT_SOURCE, CONCERT_PAYMENT_URL),
      settings: settings.waitingRoom,
      ...(settings.waitingRoomRedisUrl ? { store: new RedisWaitingRoomStore(settings.waitingRoomRedisUrl) } : {}),
      changes: await resources.evictions(),
      parts: new Set([part]),
    })
  }
}

/**
 * The concert system's services, each as a process of its own: members' tokens are checked with the
 * identity service's public keys (`IDENTITY_URL`); the feeds they follow come through the broker when the
 * process has one, else over HTTP (`CONCERT_*_URL`); the payment service reads a reservation from the
 * concert service's internal route. Instances of the concert service tell each other which seat lists
 * changed through the eviction bus (`EVICTIONS=redis`).
 */
export const concertProcesses: ServiceOpeners = {
  [CONCERT_SOURCE]: async (ctx, env, resources) => {
    const seats = new SeatCache()
    const evictions = await resources.evictions()
    return concertService(ctx, await openConcertProducer(ctx, seats, evictions), {
      ...concertSettingsFromEnv(env),
      verify: remoteIdentity(ctx, env).verify,
      operatorToken: env.TIDINGS_OPERATOR_TOKEN || undefined,
      demo: env.TIDINGS_DEMO_CONCERT !== 'off',
      payments: followedFeed(ctx, env, PAYMENT_SOURCE, CONCERT_PAYMENT_URL),
      seats,
      evictions,
      passes: queuePassLookupOverHttp(serviceUrl(env, CONCERT_WAITING_URL), ctx.serviceCredential),
    })
  },
  [WALLET_SOURCE]: async (ctx, env) =>
    walletService(ctx, await openWalletProducer(ctx), { verify: remoteIdentity(ctx, env).verify, payments: followedFeed(ctx, env, PAYMENT_SOURCE, CONCERT_PAYMENT_URL) }),
  [PAYMENT_SOURCE]: async (ctx, env) => {
    const concert = followedFeed(ctx, env, CONCERT_SOURCE, CONCERT_CONCERT_URL)
    return paymentService(ctx, await openPaymentProducer(ctx), {
      verify: remoteIdentity(ctx, env).verify,
      participants: [followedFeed(ctx, env, WALLET_SOURCE, CONCERT_WALLET_URL), concert],
      sales: concert,
      reservation: reservationLookupOverHttp(serviceUrl(env, CONCERT_CONCERT_URL), ctx.serviceCredential),
      passes: queuePassLookupOverHttp(serviceUrl(env, CONCERT_WAITING_URL), ctx.serviceCredential),
    })
  },
  [WAITING_SERVICE]: waitingRoomPart('waiting'),
  'concert.active': waitingRoomPart('active'),
  'concert.expiration': waitingRoomPart('expiration'),
  // The channel reads the room's store (its tables, migrated by the waiting room, or Redis) and hears its changes on the eviction bus.
  [CHANNEL_SERVICE]: async (ctx, env, resources) => {
    const settings = concertSettingsFromEnv(env)
    const changes = await resources.evictions()
    if (!changes) throw new Error('The channel hears the waiting room through the eviction bus: set EVICTIONS=redis')
    const store = settings.waitingRoomRedisUrl ? new RedisWaitingRoomStore(settings.waitingRoomRedisUrl) : new PgWaitingRoomStore(ctx.db, WAITING_SCHEMA)
    return channelService(ctx, { store, changes, settings: settings.channel, ownsStore: true })
  },
}
