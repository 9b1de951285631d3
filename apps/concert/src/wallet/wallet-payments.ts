import type { Envelope } from '@tidings/core'
import { reactor, type CommandTx, type UnitOfWork } from '@tidings/postgres'
import { PAYMENT_COMMANDS, PAYMENT_REPLIES, PAYMENT_SOURCE, type DebitWallet, type RefundWallet } from '../payment/payment.contracts'
import { debit, InsufficientBalance, refund } from './wallet'
import type { WalletRepository } from './wallet.repository'

/**
 * The wallet's part in the payment saga. A debit takes the price once (its movement, `WalletDebited`, is
 * the reply; the same debit again, as a rebuild from the start replays it, changes nothing) or is refused
 * with its reason; a refund gives back what its payment took, once, and when the
 * payment took nothing it leaves a mark that refuses that debit should it still come. Both answer the
 * saga every time, so a refund can be sent again safely.
 */
export function walletPayments(uow: UnitOfWork, wallets: WalletRepository) {
  const refused = (tx: CommandTx, command: DebitWallet, reason: string) =>
    tx.record({ type: PAYMENT_REPLIES.debitRefused, key: command.memberId, data: { paymentId: command.paymentId, reason } })

  async function onDebit(tx: CommandTx, command: DebitWallet): Promise<void> {
    const wallet = await wallets.walletForUpdate(tx, command.memberId)
    if (await wallets.paymentVoided(tx, command.paymentId)) return refused(tx, command, 'PAYMENT_WITHDRAWN')
    // Taken already: this debit is applied again (a consumer rebuilt from the start): it changes nothing.
    if ((await wallets.payment(tx, command.memberId, command.paymentId)).taken !== undefined) return
    try {
      const { state, events } = debit(wallet, command.amount, command.paymentId)
      await wallets.save(tx, state)
      tx.record(...events)
    } catch (error) {
      if (error instanceof InsufficientBalance) return refused(tx, command, error.code)
      throw error
    }
  }

  async function onRefund(tx: CommandTx, command: RefundWallet): Promise<void> {
    const wallet = await wallets.walletForUpdate(tx, command.memberId)
    const { taken, refunded } = await wallets.payment(tx, command.memberId, command.paymentId)
    if (taken === undefined) await wallets.voidPayment(tx, command.paymentId)
    else if (!refunded) {
      const { state, events } = refund(wallet, taken, command.paymentId)
      await wallets.save(tx, state)
      tx.record(...events)
    }
    tx.record({ type: PAYMENT_REPLIES.refundSettled, key: command.memberId, data: { paymentId: command.paymentId, refunded: taken ?? 0 } })
  }

  return reactor(uow, {
    name: 'concert.wallet-payments',
    follows: [PAYMENT_SOURCE],
    async react(tx, message: Envelope) {
      if (message.type === PAYMENT_COMMANDS.debit) return onDebit(tx, message.data as DebitWallet)
      if (message.type === PAYMENT_COMMANDS.refund) return onRefund(tx, message.data as RefundWallet)
    },
  })
}
