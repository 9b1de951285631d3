import { describe, expect, it } from 'vitest'
import { waitText, wordsFor } from './concert-words'

describe('the concert pages’ words', () => {
  it('say the wait in minutes, rounded up, and when it cannot be known', () => {
    expect(waitText(null)).toBe('The wait cannot be estimated yet.')
    expect(waitText(0)).toBe('Less than a minute to go.')
    expect(waitText(59)).toBe('Less than a minute to go.')
    expect(waitText(60)).toBe('About 1 minute to go.')
    expect(waitText(61)).toBe('About 2 minutes to go.')
  })

  it('tell a refusal the pages expect in the member’s words, and keep the API’s detail and fields otherwise', () => {
    expect(wordsFor({ status: 409, code: 'INSUFFICIENT_BALANCE', detail: 'The payment did not go through (INSUFFICIENT_BALANCE): nothing was taken' })).toEqual({
      status: 409,
      code: 'INSUFFICIENT_BALANCE',
      detail: 'Your wallet does not hold enough to pay for this seat, so nothing was taken. Charge your wallet, then pay again.',
    })
    const other = { status: 400, code: 'VALIDATION', detail: 'The request is invalid', fields: [{ path: 'amount', message: 'too big' }] }
    expect(wordsFor(other)).toBe(other)
  })
})
