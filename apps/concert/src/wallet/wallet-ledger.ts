import type { Dispatcher, Envelope } from '@tidings/core'
import { runWrites, type Queryable } from '@tidings/postgres'
import type { WalletEvent } from './wallet'
import type { Booking, WalletRepository } from './wallet.repository'

const MOVEMENTS: ReadonlyArray<WalletEvent['type']> = ['concert.WalletCharged.v1', 'concert.WalletDebited.v1', 'concert.WalletRefunded.v1']

/**
 * Every movement gets its ledger row in the same transaction as the balance (the article's §4: an
 * in-transaction handler of the wallet's own events), so a balance without its row, or the reverse, cannot
 * commit. A command's movements are booked as they are recorded; a transaction that `collect`s them (a page
 * of the payment saga's commands) takes them from `collected` to write with its balances, in one statement.
 */
export class WalletLedger {
  private readonly collecting = new WeakMap<Queryable, Booking[]>()

  constructor(private readonly wallets: WalletRepository) {}

  /** Books every movement `dispatcher`'s unit of work records. */
  register(dispatcher: Dispatcher<Queryable>): Dispatcher<Queryable> {
    for (const type of MOVEMENTS) {
      dispatcher.inTransaction<Envelope<WalletEvent['type'], WalletEvent['data']>>(type, (tx, e) => this.book(tx, { entryId: e.id, movement: e.data, at: e.occurredAt }))
    }
    return dispatcher
  }

  /** From now on, the movements recorded in `tx` wait for `collected`, which the transaction must write before it commits. */
  collect(tx: Queryable): void {
    this.collecting.set(tx, [])
  }

  /** What `tx` recorded since `collect`; the movements it records next are booked at once. */
  collected(tx: Queryable): Booking[] {
    const bookings = this.collecting.get(tx) ?? []
    this.collecting.delete(tx)
    return bookings
  }

  private async book(tx: Queryable, booking: Booking): Promise<void> {
    const collecting = this.collecting.get(tx)
    if (collecting) collecting.push(booking)
    else await runWrites(tx, this.wallets.booking([booking]))
  }
}
