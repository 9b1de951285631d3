import { secretMatcher, type TokenVerifier } from '@tidings/auth'
import { uuidv7 } from '@tidings/core'
import { openProducer, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import { CONCERT_SOURCE } from './concert.contracts'
import { ConcertRepository, concertMigrations } from './concert.repository'
import { concertRoutes } from './concert.routes'
import { scheduleConcert } from './concert'

export const CONCERT_SCHEMA = 'concert_concert'

export function openConcertProducer(ctx: ServiceContext): Promise<Producer> {
  return openProducer(ctx, CONCERT_SCHEMA, CONCERT_SOURCE, concertMigrations)
}

/** Concerts, performances and their seats (so far: the catalog). */
export async function concertService(
  ctx: ServiceContext,
  producer: Producer,
  deps: { verify: TokenVerifier; operatorToken?: string | undefined; demo?: boolean | undefined },
): Promise<AnyService> {
  const concerts = new ConcertRepository(CONCERT_SCHEMA)
  const now = () => ctx.clock.now()
  const newId = () => uuidv7(now().getTime())
  if (deps.demo) await scheduleDemo(ctx, producer, concerts, newId)
  return {
    name: CONCERT_SOURCE,
    routes: concertRoutes({
      db: ctx.db,
      uow: producer.uow,
      concerts,
      verify: deps.verify,
      operatorSecret: secretMatcher(deps.operatorToken, 'TIDINGS_OPERATOR_TOKEN'),
      newId,
      now,
    }),
    feeds: { [CONCERT_SOURCE]: producer.feed },
    subscriptions: [],
    producerSchemas: [CONCERT_SCHEMA],
    consumerSchemas: [],
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
