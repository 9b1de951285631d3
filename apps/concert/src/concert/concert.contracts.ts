import * as z from 'zod'
import { httpStateLookup, serviceHeaders } from '@tidings/http'
import type { Reservation } from './reservation'

/** What other services may know of the concert service: its feed and its events (full concert state). */
export const CONCERT_SOURCE = 'concert.concert'
export type { Concert, ConcertEvent, ConcertScheduled, Performance } from './concert'
export type { Reservation, ReservationEvent } from './reservation'

/** A reservation's latest state, as the concert service's internal route answers it. */
export const ReservationState = z.object({
  reservationId: z.string(),
  concertId: z.string(),
  performanceId: z.string(),
  seatNo: z.number().int(),
  memberId: z.string(),
  price: z.number().int(),
  status: z.enum(['HELD', 'CONFIRMED', 'EXPIRED', 'CANCELED']),
  holdExpiresAt: z.string(),
  paymentId: z.string().nullable(),
  version: z.number().int(),
})

/** A reservation as the concert service has it now; undefined when there is none. */
export type ReservationLookup = (reservationId: string) => Promise<Reservation | undefined>

export const reservationStatePath = (reservationId: string): string => `/internal/reservations/${reservationId}`
export const reservationStatesPath = '/internal/reservations'

/** The lookup across processes: the concert service's internal route, with the deployment's service credential. */
export function reservationLookupOverHttp(baseUrl: string, serviceCredential: string): ReservationLookup {
  return httpStateLookup({ baseUrl, path: reservationStatePath, parse: (body) => ReservationState.parse(body), headers: serviceHeaders(serviceCredential) })
}
