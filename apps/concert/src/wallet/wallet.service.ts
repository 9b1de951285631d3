import type { TokenVerifier } from '@tidings/auth'
import { Dispatcher, type FeedReader } from '@tidings/core'
import { openProducer, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'
import { WALLET_SOURCE } from './wallet.contracts'
import { WalletLedger } from './wallet-ledger'
import { walletPayments } from './wallet-payments'
import { WalletRepository, walletMigrations } from './wallet.repository'
import { walletRoutes } from './wallet.routes'

export const WALLET_SCHEMA = 'concert_wallet'

/** The wallet's command side and the ledger that books every movement it records. */
export interface WalletProducer extends Producer {
  ledger: WalletLedger
}

/** The wallet's command side; every movement's ledger row commits with its balance (an in-transaction handler). */
export async function openWalletProducer(ctx: ServiceContext): Promise<WalletProducer> {
  const ledger = new WalletLedger(new WalletRepository(WALLET_SCHEMA))
  return { ...(await openProducer(ctx, WALLET_SCHEMA, WALLET_SOURCE, walletMigrations, { dispatcher: ledger.register(new Dispatcher<Queryable>()) })), ledger }
}

/** Members' balances: charged by the member, debited and refunded by the payment saga. */
export async function walletService(ctx: ServiceContext, producer: WalletProducer, deps: { verify: TokenVerifier; payments: FeedReader }): Promise<AnyService> {
  const wallets = new WalletRepository(WALLET_SCHEMA)
  const payments = await openSubscription(ctx, WALLET_SCHEMA, walletPayments(producer.uow, wallets, producer.ledger), [deps.payments])
  return {
    name: WALLET_SOURCE,
    routes: walletRoutes({ db: ctx.db, uow: producer.uow, wallets, verify: deps.verify }),
    feeds: { [WALLET_SOURCE]: producer.feed },
    subscriptions: [payments],
    producerSchemas: [WALLET_SCHEMA],
    consumerSchemas: [WALLET_SCHEMA],
  }
}
