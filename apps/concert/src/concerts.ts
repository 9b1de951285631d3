import type { Clock, Logger } from '@tidings/core'
import { hostServices, serviceContext, type AnyService, type Host, type ServiceContext } from '@tidings/http'
import type { TokenVerifier } from '@tidings/auth'
import { identityService, type IdentityOptions } from '@tidings/identity'
import type { Database } from '@tidings/postgres'
import { concertService, openConcertProducer } from './concert/concert.service'
import { openWalletProducer, walletService } from './wallet/wallet.service'

export interface ConcertOptions {
  db: Database
  clock?: Clock
  logger?: Logger
  instanceId?: string
  consistencyTimeoutMs?: number
  identity?: IdentityOptions
  /** The deployment's operator secret: it schedules concerts (and grants members roles). */
  operatorToken?: string | undefined
}

export type Concert = Host & { services: AnyService[] }

/**
 * The concert reservation system on its own in one process, beside the identity service its members sign
 * up and log in with (tests; `npm start` hosts it beside the board and orders with `concertServices`).
 */
export async function composeConcert(options: ConcertOptions): Promise<Concert> {
  const ctx = serviceContext(options)
  const identity = await identityService(ctx, { ...options.identity, operatorToken: options.operatorToken })
  const services = [identity, ...(await concertServices(ctx, { verify: identity.verifier, operatorToken: options.operatorToken }))]
  return { ...hostServices(ctx, services), services }
}

export interface ConcertServicesOptions {
  /** Checks the tokens of the identity service: the concert's customers are members. */
  verify: TokenVerifier
  operatorToken?: string | undefined
  /** Schedule a demo concert (two performances of 50 seats) when there is none. */
  demo?: boolean | undefined
}

/** The concert system's services (so far: the catalog and the wallet). */
export async function concertServices(ctx: ServiceContext, options: ConcertServicesOptions): Promise<AnyService[]> {
  const concert = await openConcertProducer(ctx)
  const wallet = await openWalletProducer(ctx)
  return [await concertService(ctx, concert, options), await walletService(ctx, wallet, options)]
}
