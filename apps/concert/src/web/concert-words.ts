import type { ApiProblem } from '@tidings/board'
import { MAX_HOLDS } from '../concert/reservation'

/** Amounts are whole units of the currency (the API's integers), grouped for reading: 50,000. */
export const formatAmount = (amount: number): string => amount.toLocaleString('en-US')

/** The estimated wait in words. The queue page's script words it the same way (assets/concert.js). */
export function waitText(seconds: number | null): string {
  if (seconds === null) return 'The wait cannot be estimated yet.'
  if (seconds < 60) return 'Less than a minute to go.'
  const minutes = Math.ceil(seconds / 60)
  return `About ${minutes} ${minutes === 1 ? 'minute' : 'minutes'} to go.`
}

/**
 * What a refusal means for the member, in their words: the API's codes the pages expect, each with what
 * to do next. Any other refusal is shown with the API's own detail.
 */
export function wordsFor(problem: ApiProblem): ApiProblem {
  const detail = WORDS[problem.code]
  return detail === undefined ? problem : { ...problem, detail }
}

const WORDS: Readonly<Record<string, string>> = {
  INSUFFICIENT_BALANCE: 'Your wallet does not hold enough to pay for this seat, so nothing was taken. Charge your wallet, then pay again.',
  SEAT_TAKEN: 'Someone else has just taken that seat. Please pick another one.',
  HOLD_LIMIT: `You already hold ${MAX_HOLDS} seats of this performance: pay for them or give one back first.`,
  RESERVATION_EXPIRED: 'Your hold on this seat ran out, so nothing was taken. Please pick a seat again.',
  RESERVATION_NOT_HELD: 'This seat is no longer held for you, so nothing was taken.',
  QUEUE_TOKEN_NOT_ACTIVE: 'Your turn to book has ended. Join the queue again to book a seat.',
  IDEMPOTENCY_KEY_IN_USE: 'This payment is already on its way. Wait a moment, then reload the page.',
  PAYMENT_IN_PROGRESS: 'A payment for this seat is already under way or done. Wait a moment, then reload the page to see it.',
  PERFORMANCE_STARTED: 'This performance has begun: its seats are no longer sold.',
}
