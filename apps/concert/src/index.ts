export { composeConcert, concertServices, type Concert, type ConcertOptions, type ConcertServicesOptions } from './concerts'
export { concertSettingsFromEnv, type ConcertSettings } from './concert-settings'
export { CONCERT_CONCERT_URL, CONCERT_PAYMENT_URL, CONCERT_WAITING_URL, CONCERT_WALLET_URL, concertProcesses } from './concert.processes'
export { concertGatewayRoutes } from './concert.gateway-routes'

// The web pages (concerts, queue, seats, payment), in the board's layout and session.
export { concertWeb, type ConcertWebOptions } from './web/concert-web.routes'

// The commands' request bodies, as the routes check them.
export { ChargeBody } from './wallet/wallet.routes'
export { ScheduleConcertBody } from './concert/concert.routes'
export { HoldSeatBody } from './concert/reservation.routes'
export { PayBody } from './payment/payment.routes'

// What other services may know: the feeds and the events they carry.
export { CONCERT_SOURCE, type Concert as ScheduledConcert, type Performance } from './concert/concert.contracts'
export { PAYMENT_SOURCE, type PaymentCompleted } from './payment/payment.contracts'
export { WALLET_SOURCE, type Movement, type MovementType, type WalletEvent } from './wallet/wallet.contracts'
