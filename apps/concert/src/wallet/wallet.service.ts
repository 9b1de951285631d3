import type { TokenVerifier } from '@tidings/auth'
import { Dispatcher } from '@tidings/core'
import { openProducer, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import type { Queryable } from '@tidings/postgres'
import { WALLET_SOURCE } from './wallet.contracts'
import { walletLedger } from './wallet-ledger'
import { WalletRepository, walletMigrations } from './wallet.repository'
import { walletRoutes } from './wallet.routes'

export const WALLET_SCHEMA = 'concert_wallet'

/** The wallet's command side; every movement's ledger row commits with its balance (an in-transaction handler). */
export function openWalletProducer(ctx: ServiceContext): Promise<Producer> {
  const wallets = new WalletRepository(WALLET_SCHEMA)
  return openProducer(ctx, WALLET_SCHEMA, WALLET_SOURCE, walletMigrations, { dispatcher: walletLedger(new Dispatcher<Queryable>(), wallets) })
}

/** Members' balances: charged by the member, debited and refunded by the payment saga. */
export async function walletService(ctx: ServiceContext, producer: Producer, deps: { verify: TokenVerifier }): Promise<AnyService> {
  const wallets = new WalletRepository(WALLET_SCHEMA)
  return {
    name: WALLET_SOURCE,
    routes: walletRoutes({ db: ctx.db, uow: producer.uow, wallets, verify: deps.verify }),
    feeds: { [WALLET_SOURCE]: producer.feed },
    subscriptions: [],
    producerSchemas: [WALLET_SCHEMA],
    consumerSchemas: [],
  }
}
