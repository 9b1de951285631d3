/** What other services may know of the concert service: its feed and its events (full concert state). */
export const CONCERT_SOURCE = 'concert.concert'
export type { Concert, ConcertEvent, ConcertScheduled, Performance } from './concert'
