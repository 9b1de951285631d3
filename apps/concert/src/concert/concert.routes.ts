import { Hono } from 'hono'
import * as z from 'zod'
import { requireOperator, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { ValidationFailed, type IdGenerator } from '@tidings/core'
import { userText, uuid, validBody, validParams, validQuery, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { ConcertNotFound, MAX_PERFORMANCES, MAX_PRICE, MAX_SEATS, planProblems, scheduleConcert } from './concert'
import type { ConcertRepository } from './concert.repository'

/** An instant between the years 2000 and 9999, with its offset: what a calendar can show and a database keep. */
const Instant = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine((d) => d.getUTCFullYear() >= 2000 && d.getUTCFullYear() <= 9999, 'must be between the years 2000 and 9999')
  .transform((d) => d.toISOString())

/** An operator's new concert (exported for the fuzz suite). */
export const ScheduleConcertBody = z.strictObject({
  title: userText(1, 200),
  salesOpenAt: Instant.optional(),
  performances: z
    .array(z.strictObject({ startsAt: Instant, seatCount: z.number().int().min(1).max(MAX_SEATS), price: z.number().int().min(1).max(MAX_PRICE) }))
    .min(1)
    .max(MAX_PERFORMANCES),
})
const ConcertParams = z.object({ concertId: uuid })
const ListQuery = z.object({ after: uuid.optional(), limit: z.coerce.number().int().min(1).max(100).default(50) })

/**
 * The catalog: an operator (a member with the role, or the deployment's operator token) schedules
 * concerts; anyone may list those still to come, in the order they begin, with each performance's seats
 * still available.
 */
export function concertRoutes(deps: {
  db: Database
  uow: UnitOfWork
  concerts: ConcertRepository
  verify: TokenVerifier
  operatorSecret: ((presented: string | undefined) => boolean) | undefined
  newId: IdGenerator
  now: () => Date
}): Hono<MemberEnv> {
  const { db, uow, concerts, verify, operatorSecret, newId, now } = deps
  const routes = new Hono<MemberEnv>()

  routes.post('/api/concerts', requireOperator(verify, operatorSecret), validBody(ScheduleConcertBody), async (c) => {
    const plan = c.req.valid('json')
    const problems = planProblems(plan, now())
    if (problems.length > 0) throw new ValidationFailed(problems.map(([path, message]) => ({ path, message })))
    const { result, token } = await uow.run(async (tx) => {
      const { state, events } = scheduleConcert(newId(), plan, plan.performances.map(() => newId()))
      await concerts.insert(tx, state, now())
      tx.record(...events)
      return state
    })
    withPosition(c, token)
    const { version: _, ...concert } = result
    return c.json(concert, 201)
  })

  routes.get('/api/concerts', validQuery(ListQuery), async (c) => {
    const page = c.req.valid('query')
    const items = await concerts.upcoming(db, page, now())
    return c.json({ items, nextCursor: items.length === page.limit ? items.at(-1)!.concertId : null })
  })

  routes.get('/api/concerts/:concertId', validParams(ConcertParams), async (c) => {
    const { concertId } = c.req.valid('param')
    const concert = await concerts.find(db, concertId)
    if (!concert) throw new ConcertNotFound(concertId)
    return c.json(concert)
  })

  return routes
}
