import type { Dispatcher, Envelope } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import type { WalletEvent } from './wallet'
import type { WalletRepository } from './wallet.repository'

const MOVEMENTS: ReadonlyArray<WalletEvent['type']> = ['concert.WalletCharged.v1', 'concert.WalletDebited.v1', 'concert.WalletRefunded.v1']

/**
 * Every movement gets its ledger row in the same transaction as the balance (the article's §4: an
 * in-transaction handler of the wallet's own events), so a balance without its row, or the reverse, cannot
 * commit.
 */
export function walletLedger(dispatcher: Dispatcher<Queryable>, wallets: WalletRepository): Dispatcher<Queryable> {
  for (const type of MOVEMENTS) {
    dispatcher.inTransaction<Envelope<WalletEvent['type'], WalletEvent['data']>>(type, (tx, e) => wallets.book(tx, e.id, e.data, e.occurredAt))
  }
  return dispatcher
}
