import type { TokenVerifier } from '@tidings/auth'
import { consumer, type EvictionBus, type FeedReader } from '@tidings/core'
import { Hono } from 'hono'
import type { MemberEnv } from '@tidings/auth'
import { awaitOutcome, openSubscription, type AnyService, type ServiceContext } from '@tidings/http'
import { migrate, platformMigrations, schemaName, type Queryable } from '@tidings/postgres'
import type { Concert } from '../concert/concert'
import { CONCERT_SOURCE } from '../concert/concert.contracts'
import type { QueuePassLookup } from './queue-pass'
import { followQueuePassEnds, QueuePassCache } from './queue-pass-cache'
import { queuePassRoutes } from './queue-pass.routes'
import { PAYMENT_COMPLETED, PAYMENT_SOURCE, type PaymentCompleted } from '../payment/payment.contracts'
import { PgWaitingRoomStore, waitingRoomMigrations } from './pg-waiting-room.store'
import { DEFAULT_WAITING_ROOM, type WaitingRoomSettings } from './waiting-room'
import { ALL_PARTS, WaitingRoom, type WaitingRoomPart } from './waiting-room.service'
import type { WaitingRoomStore } from './waiting-room.store'
import { waitingRoutes } from './waiting.routes'
import { queueStatusFastPath } from './queue-status.fast-path'
import { sharedReads } from './shared-reads'

export const WAITING_SCHEMA = 'concert_waiting'
export const WAITING_SERVICE = 'concert.waiting'
/** How long a join waits for a concert the room has not heard of yet. */
const CATALOG_WAIT_MS = 2_000

export interface WaitingServiceDeps {
  verify: TokenVerifier
  /** The concert service's feed: the waiting room keeps the concerts it may open rooms for. */
  concerts: FeedReader
  /** The payment service's feed: a completed payment ends its payer's token and frees the place. */
  payments: FeedReader
  settings?: Partial<WaitingRoomSettings> | undefined
  /** Where the tokens are kept: Redis (`RedisWaitingRoomStore`) when given, else the application's database. */
  store?: (WaitingRoomStore & { close?(): void }) | undefined
  /** Where the room announces its changes to the channel (`ROOM_CHANGES_TOPIC`), and the active part hears the expiration's. */
  changes?: EvictionBus | undefined
  /** The parts this process runs (default all): `waiting` serves the routes and follows the catalog, `active` the payments. */
  parts?: ReadonlySet<WaitingRoomPart> | undefined
}

/**
 * The waiting room (waiting, active and expiration), its tokens on the application's database or on
 * Redis (`store`). It follows the catalog (the concerts a room may open for, and when their sales open)
 * and the payments (a completed one frees its payer's place). `passes` is what the services beside it ask of
 * a queue token: ACTIVE passes kept until their time ends or the room ends them (`QueuePassCache`).
 */
export async function waitingService(ctx: ServiceContext, deps: WaitingServiceDeps): Promise<AnyService & { room: WaitingRoom; store: WaitingRoomStore; passes: QueuePassLookup }> {
  const { db, clock, logger } = ctx
  const parts = deps.parts ?? ALL_PARTS
  await migrate(db, WAITING_SCHEMA, 'tidings', platformMigrations)
  await migrate(db, WAITING_SCHEMA, WAITING_SERVICE, waitingRoomMigrations)
  const w = schemaName(WAITING_SCHEMA)
  const catalog = parts.has('waiting') ? await followCatalog(ctx, deps.concerts) : undefined
  /** Whether the room has heard of the concert (once it has, always: a scheduled concert is never taken back). */
  const known = sharedReads(async (concertId) => (await db.query(`SELECT 1 FROM ${w}.concerts WHERE concert_id = $1`, [concertId])).rowCount > 0, (found) => found)
  /** When the concert's sales open, as scheduled (it never changes once known); null: open, or not heard of yet. */
  const opening = sharedReads(
    async (concertId): Promise<Date | null | undefined> => {
      const { rows } = await db.query<{ sales_open_at: Date | string | null }>(`SELECT sales_open_at FROM ${w}.concerts WHERE concert_id = $1`, [concertId])
      return rows[0] && (rows[0].sales_open_at === null ? null : new Date(rows[0].sales_open_at))
    },
    (opens) => opens !== undefined,
  )
  const salesOpenAt = async (concertId: string) => (await opening(concertId)) ?? null
  // A concert scheduled a moment ago may not have reached the room yet: wait for the catalog a little.
  const concertExists = (concertId: string) => awaitOutcome(() => known(concertId), Boolean, { progress: catalog ? [catalog] : [], timeoutMs: CATALOG_WAIT_MS })
  const store = deps.store ?? new PgWaitingRoomStore(db, WAITING_SCHEMA)
  const passes = new QueuePassCache(clock)
  const unfollow = followQueuePassEnds(passes, deps.changes)
  const room = new WaitingRoom({ store, settings: { ...DEFAULT_WAITING_ROOM, ...deps.settings }, clock, logger, salesOpenAt, changes: deps.changes, parts, passes })
  const payments = parts.has('active') ? await followPayments(ctx, room, deps.payments) : undefined
  const routes = new Hono<MemberEnv>()
  if (parts.has('waiting')) routes.route('/', waitingRoutes({ room, verify: deps.verify, concertExists, clock })).route('/', queuePassRoutes(room))
  return {
    name: parts.size === 1 ? `concert.${[...parts][0]!}` : WAITING_SERVICE,
    room,
    store,
    passes: (token) => passes.pass(token, (t) => room.pass(t)),
    routes,
    ...(parts.has('waiting') ? { fastPath: queueStatusFastPath(room, ctx) } : {}),
    feeds: {},
    subscriptions: [catalog, payments].filter((s) => s !== undefined),
    workers: [room],
    producerSchemas: [],
    consumerSchemas: [WAITING_SCHEMA],
    close: () => {
      unfollow()
      deps.store?.close?.()
    },
  }
}

/** The concerts a room may open for, and when their sales open, as the catalog schedules them. */
function followCatalog(ctx: ServiceContext, concerts: FeedReader) {
  const w = schemaName(WAITING_SCHEMA)
  return openSubscription(
    ctx,
    WAITING_SCHEMA,
    consumer<Queryable>({
      name: 'concert.waiting-catalog',
      follows: [CONCERT_SOURCE],
      async handle(tx, message) {
        if (message.type !== 'concert.ConcertScheduled.v1') return
        const concert = message.data as Concert
        await tx.query(`INSERT INTO ${w}.concerts (concert_id, sales_open_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [concert.concertId, concert.salesOpenAt])
      },
    }),
    [concerts],
  )
}

/** A completed payment ends its payer's token and frees the place. */
function followPayments(ctx: ServiceContext, room: WaitingRoom, payments: FeedReader) {
  const { logger } = ctx
  return openSubscription(
    ctx,
    WAITING_SCHEMA,
    consumer<Queryable>({
      name: 'concert.waiting-payments',
      follows: [PAYMENT_SOURCE],
      async handle(tx, message) {
        if (message.type !== PAYMENT_COMPLETED) return
        const { concertId, memberId } = message.data as PaymentCompleted
        await room.paid(concertId, memberId, new Date(message.occurredAt), tx)
      },
      afterCommit(messages) {
        const paid = messages.filter((m) => m.type === PAYMENT_COMPLETED).map((m) => m.data as PaymentCompleted)
        if (paid.length === 0) return
        room.afterPayments(paid).catch((error: unknown) => logger.warn({ err: error, payments: paid.length }, 'waiting room: admission after a payment failed (the tick will admit)'))
      },
    }),
    [payments],
  )
}
