import { secretMatcher, type TokenVerifier } from '@tidings/auth'
import { uuidv7 } from '@tidings/core'
import { openProducer, type AnyService, type Producer, type ServiceContext } from '@tidings/http'
import { CONCERT_SOURCE } from './concert.contracts'
import { ConcertRepository, concertMigrations } from './concert.repository'
import { concertRoutes } from './concert.routes'

export const CONCERT_SCHEMA = 'concert_concert'

export function openConcertProducer(ctx: ServiceContext): Promise<Producer> {
  return openProducer(ctx, CONCERT_SCHEMA, CONCERT_SOURCE, concertMigrations)
}

/** Concerts, performances and their seats (so far: the catalog). */
export async function concertService(ctx: ServiceContext, producer: Producer, deps: { verify: TokenVerifier; operatorToken?: string | undefined }): Promise<AnyService> {
  const concerts = new ConcertRepository(CONCERT_SCHEMA)
  const now = () => ctx.clock.now()
  return {
    name: CONCERT_SOURCE,
    routes: concertRoutes({
      db: ctx.db,
      uow: producer.uow,
      concerts,
      verify: deps.verify,
      operatorSecret: secretMatcher(deps.operatorToken, 'TIDINGS_OPERATOR_TOKEN'),
      newId: () => uuidv7(now().getTime()),
      now,
    }),
    feeds: { [CONCERT_SOURCE]: producer.feed },
    subscriptions: [],
    producerSchemas: [CONCERT_SCHEMA],
    consumerSchemas: [],
  }
}
