import { describe, expect, it } from 'vitest'
import { abuseLimitsFromEnv, DEFAULT_ABUSE_LIMITS, parseRate } from './abuse-limits'

describe('abuseLimitsFromEnv', () => {
  it('is the defaults when the environment says nothing', () => {
    expect(abuseLimitsFromEnv({})).toEqual(DEFAULT_ABUSE_LIMITS)
    expect(DEFAULT_ABUSE_LIMITS).toEqual({
      loginFailuresPerAccountAddress: { limit: 10, windowMs: 15 * 60_000 },
      loginFailuresPerAccount: { limit: 100, windowMs: 3_600_000 },
      loginAttemptsPerAddress: { limit: 30, windowMs: 60_000 },
      signUpsPerAddress: { limit: 5, windowMs: 10 * 60_000 },
      signUpsPerAccount: { limit: 5, windowMs: 3_600_000 },
      trustedProxies: 0,
    })
  })

  it('takes each limit as <count>/<duration> or off, and the number of trusted proxies', () => {
    expect(
      abuseLimitsFromEnv({
        TIDINGS_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '3/30s',
        TIDINGS_LOGIN_FAILURES_PER_ACCOUNT: 'off',
        TIDINGS_LOGIN_ATTEMPTS_PER_ADDRESS: '1000/m',
        TIDINGS_SIGNUPS_PER_ADDRESS: '2 / 1h',
        TIDINGS_SIGNUPS_PER_ACCOUNT: '3/30m',
        TIDINGS_TRUST_PROXY: '1',
      }),
    ).toEqual({
      loginFailuresPerAccountAddress: { limit: 3, windowMs: 30_000 },
      loginFailuresPerAccount: undefined,
      loginAttemptsPerAddress: { limit: 1000, windowMs: 60_000 },
      signUpsPerAddress: { limit: 2, windowMs: 3_600_000 },
      signUpsPerAccount: { limit: 3, windowMs: 30 * 60_000 },
      trustedProxies: 1,
    })
  })

  it.each([['10'], ['0/1m'], ['10/0m'], ['10/15x'], ['ten/1m'], ['-1/1m'], ['10/1.5m']])('refuses a malformed limit at start, naming it: %j', (value) => {
    expect(() => abuseLimitsFromEnv({ TIDINGS_SIGNUPS_PER_ADDRESS: value })).toThrow(/TIDINGS_SIGNUPS_PER_ADDRESS/)
  })

  it.each([['yes'], ['-1'], ['1.5'], ['100']])('refuses a TIDINGS_TRUST_PROXY that is not a small count: %j', (value) => {
    expect(() => abuseLimitsFromEnv({ TIDINGS_TRUST_PROXY: value })).toThrow(/TIDINGS_TRUST_PROXY/)
  })
})

describe('parseRate', () => {
  it('reads seconds, minutes and hours, a missing count of them meaning one', () => {
    expect(parseRate('5/10m', 'X')).toEqual({ limit: 5, windowMs: 600_000 })
    expect(parseRate('5/s', 'X')).toEqual({ limit: 5, windowMs: 1000 })
    expect(parseRate('OFF', 'X')).toBeUndefined()
  })
})
