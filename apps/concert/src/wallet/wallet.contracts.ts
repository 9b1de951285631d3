/** What other services may know of the wallet service: its feed and its events (one movement each). */
export const WALLET_SOURCE = 'concert.wallet'
export type { Movement, MovementType, WalletCharged, WalletDebited, WalletEvent, WalletRefunded } from './wallet'
