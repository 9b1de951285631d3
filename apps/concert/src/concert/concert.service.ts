import { Hono } from 'hono'
import { secretMatcher, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { Dispatcher, uuidv7, type EvictionBus, type FeedReader } from '@tidings/core'
import { openProducer, openSubscription, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import { Scheduler, type Queryable } from '@tidings/postgres'
import { CONCERT_SOURCE } from './concert.contracts'
import { ConcertRepository, concertMigrations } from './concert.repository'
import { concertRoutes } from './concert.routes'
import { scheduleConcert } from './concert'
import { HOLD_EXPIRY, holdExpiry } from './hold-expiry'
import { reservationPayments } from './reservation-payments'
import { ReservationRepository, reservationMigrations } from './reservation.repository'
import { reservationRoutes } from './reservation.routes'
import { followSeatEvictions, SeatCache, seatEvictions } from './seat-cache'
import type { QueuePassLookup } from '../waiting/queue-pass'

export const CONCERT_SCHEMA = 'concert_concert'

/**
 * The concert service's command side. Every committed seat change drops its performance's list from
 * `seats` (this instance's cache) and, through `evictions`, from the other instances'.
 */
export function openConcertProducer(ctx: ServiceContext, seats: SeatCache, evictions?: EvictionBus): Promise<Producer> {
  const dispatcher = seatEvictions(new Dispatcher<Queryable>(), seats, evictions, ctx.logger)
  return openProducer(ctx, CONCERT_SCHEMA, CONCERT_SOURCE, [...concertMigrations, ...reservationMigrations], { dispatcher })
}

/** How long a seat stays held for its member to pay (`CONCERT_HOLD_TTL_MS`). */
export const DEFAULT_HOLD_TTL_MS = 5 * 60_000

export interface ConcertServiceDeps {
  verify: TokenVerifier
  operatorToken?: string | undefined
  demo?: boolean | undefined
  /** The payment service's feed: its sagas confirm reservations. */
  payments: FeedReader
  holdTtlMs?: number | undefined
  /** This instance's seat lists (the producer keeps them true: `openConcertProducer`). */
  seats: SeatCache
  /** Where the other instances' seat evictions come from (none: this instance is the only one). */
  evictions?: EvictionBus | undefined
  /** What the waiting room says of a queue token: seats and holds are for ACTIVE members. */
  passes: QueuePassLookup
}

/** Concerts, performances and their seats: the catalog, holds and their expiry, and the seats payments confirm. */
export async function concertService(ctx: ServiceContext, producer: Producer, deps: ConcertServiceDeps): Promise<AnyService> {
  const { db, clock } = ctx
  const concerts = new ConcertRepository(CONCERT_SCHEMA)
  const reservations = new ReservationRepository(CONCERT_SCHEMA)
  const now = () => clock.now()
  const newId = () => uuidv7(now().getTime())
  if (deps.demo) await scheduleDemo(ctx, producer, concerts, newId)
  const payments = await openSubscription(ctx, CONCERT_SCHEMA, reservationPayments(producer.uow, CONCERT_SCHEMA, reservations, clock), [deps.payments])
  const expiries = new Scheduler({ db, schema: CONCERT_SCHEMA, uow: producer.uow, clock, logger: ctx.logger, handlers: { [HOLD_EXPIRY]: holdExpiry(reservations, clock) } })
  const unfollow = followSeatEvictions(deps.seats, deps.evictions)
  const routes = new Hono<MemberEnv>()
  routes.route('/', concertRoutes({ db, uow: producer.uow, concerts, verify: deps.verify, operatorSecret: secretMatcher(deps.operatorToken, 'TIDINGS_OPERATOR_TOKEN'), newId, now }))
  routes.route('/', reservationRoutes({ db, uow: producer.uow, schema: CONCERT_SCHEMA, reservations, seats: deps.seats, passes: deps.passes, verify: deps.verify, newId, clock, holdTtlMs: deps.holdTtlMs ?? DEFAULT_HOLD_TTL_MS }))
  return {
    name: CONCERT_SOURCE,
    routes,
    feeds: { [CONCERT_SOURCE]: producer.feed },
    subscriptions: [payments],
    workers: [expiries],
    producerSchemas: [CONCERT_SCHEMA],
    consumerSchemas: [CONCERT_SCHEMA],
    close: unfollow,
  }
}

const DAY_MS = 24 * 3600_000
/** 19:00 in Seoul, where the articles' concerts are. */
const EVENING_UTC_MS = 10 * 3600_000

/**
 * On an empty catalog, one concert a month from now: two evenings of 50 seats at 50,000 each. Looked for
 * and scheduled under one lock, so processes starting together on an empty database schedule one.
 */
async function scheduleDemo(ctx: ServiceContext, producer: Producer, concerts: ConcertRepository, newId: () => string): Promise<void> {
  const evening = (days: number) => new Date(Math.ceil((ctx.clock.now().getTime() + days * DAY_MS) / DAY_MS) * DAY_MS + EVENING_UTC_MS).toISOString()
  const plan = { title: 'Tidings Live', performances: [30, 31].map((days) => ({ startsAt: evening(days), seatCount: 50, price: 50_000 })) }
  const { result: scheduled } = await producer.uow.run(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('${CONCERT_SCHEMA}:demo', 0))`)
    if ((await concerts.count(tx)) > 0) return false
    const { state, events } = scheduleConcert(newId(), plan, plan.performances.map(() => newId()))
    await concerts.insert(tx, state, ctx.clock.now())
    tx.record(...events)
    return true
  })
  if (scheduled) ctx.logger.info({ concert: plan.title }, 'scheduled a demo concert on the empty catalog')
}
