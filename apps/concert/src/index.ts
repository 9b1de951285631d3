export { composeConcert, concertServices, type Concert, type ConcertOptions } from './concert'

// The commands' request bodies, as the routes check them.
export { ChargeBody } from './wallet/wallet.routes'

// What other services may know: the feeds and the events they carry.
export { WALLET_SOURCE, type Movement, type MovementType, type WalletEvent } from './wallet/wallet.contracts'
