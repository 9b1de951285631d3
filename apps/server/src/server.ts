import { boardServices, boardWeb, GuestPages, guestPagesFastPath } from '@tidings/board'
import { concertServices, concertWeb, type ConcertSettings } from '@tidings/concert'
import { consoleRoutes, Operations } from '@tidings/console'
import { type AnyService, fastPathOf, type Host, hostServices, type ServiceContext } from '@tidings/http'
import { identityService, type IdentityOptions } from '@tidings/identity'
import { orderStatusExplorer, ordersServices } from '@tidings/orders'

export interface ServerOptions {
  /** The identity service's token lifetime and key rotation. */
  identity?: IdentityOptions
  /** `mysql://…`: the order-status view in MariaDB. */
  viewDatabaseUrl?: string | undefined
  /** How long a placed order waits for its payment before it fails (`ORDERS_PAYMENT_TIMEOUT_MS`). */
  ordersPaymentTimeoutMs?: number | undefined
  /** Enables the console's actions (replay, reset), and may grant members roles (the first operator). */
  operatorToken?: string | undefined
  /** Schedule a demo concert when there is none (`npm start`, so that a new user sees something at once). */
  demoConcert?: boolean
  /** The concert system's settings (`CONCERT_*`). */
  concert?: ConcertSettings
  /** More services to host beside the apps' (an extension, or a test's deliberately failing consumer). */
  extraServices?: readonly AnyService[]
}

export type Server = Host & { services: AnyService[] }

/**
 * Every app in one process on one HTTP app: one identity (the same members and log-in for every app), the
 * board's, orders' and the concert system's services, the board's and the concert system's pages at `/` and the operations console at `/console`.
 */
export async function composeServer(ctx: ServiceContext, options: ServerOptions = {}): Promise<Server> {
  const identity = await identityService(ctx, { ...options.identity, operatorToken: options.operatorToken })
  const board = await boardServices(ctx, identity)
  const orders = await ordersServices(ctx, { verify: identity.verifier, viewDatabaseUrl: options.viewDatabaseUrl, paymentTimeoutMs: options.ordersPaymentTimeoutMs })
  const concert = await concertServices(ctx, { ...options.concert, verify: identity.verifier, operatorToken: options.operatorToken, demo: options.demoConcert })
  const services: AnyService[] = [identity, ...Object.values(board), ...orders.services, ...concert, ...(options.extraServices ?? [])]
  const host = hostServices(ctx, services)
  // The pages are a client of the same app's API, called in process with the page request's bindings (its address).
  const api = (path: string, init?: RequestInit, bindings?: object) => host.http.request(path, init, bindings)
  // Guests' board pages are served before the app while the read side's hot copies show they are current.
  const guestPages = new GuestPages()
  host.http.route('/', boardWeb({ api, logger: ctx.logger, guestPages }))
  host.http.route('/', concertWeb({ api, logger: ctx.logger }))
  host.http.route(
    '/',
    consoleRoutes({ operations: Operations.of(ctx.db, services, { alerts: ctx.alerts }), operatorToken: options.operatorToken, explorers: [orderStatusExplorer(orders.store)], logger: ctx.logger }),
  )
  return {
    ...host,
    fastPath: fastPathOf([host.fastPath, guestPagesFastPath(guestPages, board.query.current)])!,
    services,
    async stop() {
      await host.stop()
      await orders.close()
    },
  }
}
