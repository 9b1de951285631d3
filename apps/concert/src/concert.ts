import type { Clock, Logger } from '@tidings/core'
import { hostServices, serviceContext, type AnyService, type Host, type ServiceContext } from '@tidings/http'
import type { TokenVerifier } from '@tidings/auth'
import { identityService, type IdentityOptions } from '@tidings/identity'
import type { Database } from '@tidings/postgres'
import { openWalletProducer, walletService } from './wallet/wallet.service'

export interface ConcertOptions {
  db: Database
  clock?: Clock
  logger?: Logger
  instanceId?: string
  consistencyTimeoutMs?: number
  identity?: IdentityOptions
}

export type Concert = Host & { services: AnyService[] }

/**
 * The concert reservation system on its own in one process, beside the identity service its members sign
 * up and log in with (tests; `npm start` hosts it beside the board and orders with `concertServices`).
 */
export async function composeConcert(options: ConcertOptions): Promise<Concert> {
  const ctx = serviceContext(options)
  const identity = await identityService(ctx, options.identity)
  const services = [identity, ...(await concertServices(ctx, { verify: identity.verifier }))]
  return { ...hostServices(ctx, services), services }
}

/** The concert system's services (so far: the wallet). */
export async function concertServices(ctx: ServiceContext, options: { verify: TokenVerifier }): Promise<AnyService[]> {
  const wallet = await openWalletProducer(ctx)
  return [await walletService(ctx, wallet, options)]
}
