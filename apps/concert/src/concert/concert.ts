import { decide, event, TidingsError, type Decision, type Event } from '@tidings/core'

/** One showing of a concert: its own seats, numbered 1..seatCount, all at one price (smallest currency unit). */
export interface Performance {
  performanceId: string
  startsAt: string
  seatCount: number
  price: number
}

/**
 * A concert as an operator schedules it. Before `salesOpenAt` (if set) members who join its waiting room
 * wait in a pre-queue.
 */
export interface Concert {
  concertId: string
  title: string
  salesOpenAt: string | null
  performances: Performance[]
  version: number
}

export type ConcertScheduled = Event<'concert.ConcertScheduled.v1', Concert>
export type ConcertEvent = ConcertScheduled

export const MAX_SEATS = 10_000
/** All performances of a concert together: one request makes a row per seat. */
export const MAX_SEATS_PER_CONCERT = 20_000
export const MAX_PRICE = 10_000_000
export const MAX_PERFORMANCES = 20

export class ConcertNotFound extends TidingsError {
  constructor(concertId: string) {
    super('CONCERT_NOT_FOUND', 'not_found', `No concert ${concertId}`)
  }
}

/** A concert to schedule: what the operator asked for, before it has ids. */
export interface ConcertPlan {
  title: string
  salesOpenAt?: string | undefined
  performances: Array<Omit<Performance, 'performanceId'>>
}

/**
 * What is wrong with a plan, as `[path, message]` pairs (empty: nothing): performances start after `now`,
 * sales open before the first of them, and all of them hold at most `MAX_SEATS_PER_CONCERT` seats.
 */
export function planProblems(plan: ConcertPlan, now: Date): Array<[string, string]> {
  const problems: Array<[string, string]> = []
  plan.performances.forEach((p, i) => {
    if (Date.parse(p.startsAt) <= now.getTime()) problems.push([`performances.${i}.startsAt`, 'must be in the future'])
  })
  const first = Math.min(...plan.performances.map((p) => Date.parse(p.startsAt)))
  if (plan.salesOpenAt !== undefined && Date.parse(plan.salesOpenAt) >= first) problems.push(['salesOpenAt', 'must be before the first performance'])
  const seats = plan.performances.reduce((sum, p) => sum + p.seatCount, 0)
  if (seats > MAX_SEATS_PER_CONCERT) problems.push(['performances', `must hold at most ${MAX_SEATS_PER_CONCERT} seats together, not ${seats}`])
  return problems
}

/** Schedules a concert with its performances; the ids are given (the caller makes them). */
export function scheduleConcert(concertId: string, plan: ConcertPlan, performanceIds: readonly string[]): Decision<Concert, ConcertScheduled> {
  if (plan.performances.length === 0 || plan.performances.length > MAX_PERFORMANCES) throw new RangeError(`a concert has 1..${MAX_PERFORMANCES} performances`)
  if (performanceIds.length !== plan.performances.length) throw new RangeError('one id per performance')
  for (const p of plan.performances) {
    if (!Number.isSafeInteger(p.seatCount) || p.seatCount < 1 || p.seatCount > MAX_SEATS) throw new RangeError(`a performance has 1..${MAX_SEATS} seats`)
    if (!Number.isSafeInteger(p.price) || p.price < 1 || p.price > MAX_PRICE) throw new RangeError(`a price is 1..${MAX_PRICE}`)
  }
  if (plan.performances.reduce((sum, p) => sum + p.seatCount, 0) > MAX_SEATS_PER_CONCERT) throw new RangeError(`a concert has at most ${MAX_SEATS_PER_CONCERT} seats`)
  const concert: Concert = {
    concertId,
    title: plan.title,
    salesOpenAt: plan.salesOpenAt ?? null,
    performances: plan.performances.map((p, i) => ({ performanceId: performanceIds[i]!, startsAt: p.startsAt, seatCount: p.seatCount, price: p.price })),
    version: 1,
  }
  return decide(concert, event<ConcertScheduled>('concert.ConcertScheduled.v1', concertId, concert, 1))
}
