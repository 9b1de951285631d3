import type { ListedConcert, ListedPerformance } from '../concert/concert.repository'
import type { Reservation } from '../concert/reservation'
import type { SeatStatus, SeatView } from '../concert/reservation.repository'
import type { PaymentView } from '../payment/payment'
import type { QueueStatus, QueueView } from '../waiting/waiting-room'

/**
 * The shapes of the concert system's public JSON API as these pages read them: the services' own types
 * (type imports only, so the pages still reach the data through the API alone).
 */
export type { ListedConcert, ListedPerformance, PaymentView, QueueStatus, QueueView, SeatStatus, SeatView }

export interface ConcertList {
  items: ListedConcert[]
  nextCursor: string | null
}

/** A reservation as its owner reads it. */
export type ReservationView = Omit<Reservation, 'memberId' | 'version'>

export interface Balance {
  balance: number
}
