import type { Envelope } from '@tidings/core'
import { reactor, runWrites, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { PAYMENT_COMMANDS, PAYMENT_REPLIES, PAYMENT_SOURCE, type DebitWallet, type RefundWallet } from '../payment/payment.contracts'
import { debit, emptyWallet, InsufficientBalance, refund, type Wallet } from './wallet'
import { MarkedPayments } from '../payment-marks'
import type { WalletLedger } from './wallet-ledger'
import { paymentKey, type PaymentEntries, type WalletRepository } from './wallet.repository'

/**
 * The wallet's part in the payment saga. A debit takes the price once (its movement, `WalletDebited`, is
 * the reply; the same debit again, as a rebuild from the start replays it, changes nothing) or is refused
 * with its reason; a refund gives back what its payment took, once, and when the
 * payment took nothing it leaves a mark that refuses that debit should it still come. Both answer the
 * saga every time, so a refund can be sent again safely.
 *
 * A page of commands reads its wallets (locked), its payments' ledger rows and marks in one statement
 * each, applies the commands in order to what it read (each sees what the ones before it did), and writes
 * the wallets, their ledger rows and the new marks back in one statement.
 */
export function walletPayments(uow: UnitOfWork, wallets: WalletRepository, ledger: WalletLedger) {
  const refused = (tx: CommandTx, command: DebitWallet, reason: string) =>
    tx.record({ type: PAYMENT_REPLIES.debitRefused, key: command.memberId, data: { paymentId: command.paymentId, reason } })

  function onDebit(tx: CommandTx, page: WalletPage, command: DebitWallet): void {
    if (page.voided.has(command.paymentId)) return refused(tx, command, 'PAYMENT_WITHDRAWN')
    const payment = page.payment(command.memberId, command.paymentId)
    // Taken already: this debit is applied again (a consumer rebuilt from the start): it changes nothing.
    if (payment.taken !== undefined) return
    try {
      const { state, events } = debit(page.wallet(command.memberId), command.amount, command.paymentId)
      page.moved(state)
      payment.taken = command.amount
      tx.record(...events)
    } catch (error) {
      if (error instanceof InsufficientBalance) return refused(tx, command, error.code)
      throw error
    }
  }

  function onRefund(tx: CommandTx, page: WalletPage, command: RefundWallet): void {
    const payment = page.payment(command.memberId, command.paymentId)
    const { taken } = payment
    if (taken === undefined) page.voided.mark(command.paymentId)
    else if (!payment.refunded) {
      const { state, events } = refund(page.wallet(command.memberId), taken, command.paymentId)
      page.moved(state)
      payment.refunded = true
      tx.record(...events)
    }
    tx.record({ type: PAYMENT_REPLIES.refundSettled, key: command.memberId, data: { paymentId: command.paymentId, refunded: taken ?? 0 } })
  }

  return reactor(uow, {
    name: 'concert.wallet-payments',
    follows: [PAYMENT_SOURCE],
    page: {
      async open(q, messages) {
        const commands = messages.filter((m) => m.type === PAYMENT_COMMANDS.debit || m.type === PAYMENT_COMMANDS.refund).map((m) => m.data as DebitWallet | RefundWallet)
        ledger.collect(q)
        if (commands.length === 0) return new WalletPage([], new Map(), new MarkedPayments())
        const [memberIds, paymentIds] = [[...new Set(commands.map((c) => c.memberId))], [...new Set(commands.map((c) => c.paymentId))]]
        return new WalletPage(await wallets.walletsForUpdate(q, memberIds), await wallets.payments(q, memberIds, paymentIds), await wallets.voided.read(q, paymentIds))
      },
      close: (q, page) => runWrites(q, [...wallets.saving(page.changed()), ...wallets.booking(ledger.collected(q)), ...wallets.voided.writing(page.voided)]),
    },
    async react(tx, message: Envelope, page) {
      if (message.type === PAYMENT_COMMANDS.debit) return onDebit(tx, page, message.data as DebitWallet)
      if (message.type === PAYMENT_COMMANDS.refund) return onRefund(tx, page, message.data as RefundWallet)
    },
  })
}

/** What a page of commands read, as its commands so far have left it. */
class WalletPage {
  private readonly wallets: Map<string, Wallet>
  private readonly changedWallets = new Set<string>()

  constructor(
    locked: readonly Wallet[],
    private readonly payments: Map<string, PaymentEntries>,
    readonly voided: MarkedPayments,
  ) {
    this.wallets = new Map(locked.map((w) => [w.memberId, w]))
  }

  /** A member without a wallet has an empty one (a debit then refuses, and nothing else moves it). */
  wallet(memberId: string): Wallet {
    return this.wallets.get(memberId) ?? emptyWallet(memberId)
  }

  moved(wallet: Wallet): void {
    this.wallets.set(wallet.memberId, wallet)
    this.changedWallets.add(wallet.memberId)
  }

  /** The ledger's word on a payment, to change as the page books it. */
  payment(memberId: string, paymentId: string): PaymentEntries {
    const key = paymentKey(memberId, paymentId)
    let entries = this.payments.get(key)
    if (!entries) this.payments.set(key, (entries = { taken: undefined, refunded: false }))
    return entries
  }

  changed(): Wallet[] {
    return [...this.changedWallets].map((memberId) => this.wallets.get(memberId)!)
  }
}
