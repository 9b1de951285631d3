import { problem, problemResponse } from '@tidings/http'
import type { AbuseLimits } from './abuse-limits'
import { AttemptLimiter } from './attempt-limiter'

/** A password check may go ahead (say how it went), or must wait. */
export type Admission = { admitted: true; succeeded(): void } | { admitted: false; retryAfterSeconds: number }

type Counted = Array<[AttemptLimiter, string]>

/**
 * The identity service's abuse limits over its attempt limiters, in memory and per process (instances of
 * the service each count on their own, so N instances allow up to N times as much; restarts forget).
 * A password check is counted as it starts, not when it failed, so that guesses sent in parallel are
 * held as well as guesses in a row; a right password gives its attempt back and clears the failures of
 * that account from that address.
 */
export class SignInLimits {
  private readonly accountAddress?: AttemptLimiter
  private readonly account?: AttemptLimiter
  private readonly address?: AttemptLimiter
  private readonly signUps?: AttemptLimiter
  private readonly accountSignUps?: AttemptLimiter
  readonly trustedProxies: number

  constructor(limits: AbuseLimits = {}) {
    if (limits.loginFailuresPerAccountAddress) this.accountAddress = new AttemptLimiter(limits.loginFailuresPerAccountAddress)
    if (limits.loginFailuresPerAccount) this.account = new AttemptLimiter(limits.loginFailuresPerAccount)
    if (limits.loginAttemptsPerAddress) this.address = new AttemptLimiter(limits.loginAttemptsPerAddress)
    if (limits.signUpsPerAddress) this.signUps = new AttemptLimiter(limits.signUpsPerAddress)
    if (limits.signUpsPerAccount) this.accountSignUps = new AttemptLimiter(limits.signUpsPerAccount)
    this.trustedProxies = limits.trustedProxies ?? 0
  }

  /** A password check for `account` (an email key) from `address` (log-in, or a password change). */
  passwordCheck(account: string, address: string, now: number): Admission {
    const pair = `${address} ${account}`
    const counted: Counted = []
    if (this.accountAddress) counted.push([this.accountAddress, pair])
    if (this.account) counted.push([this.account, account])
    if (this.address) counted.push([this.address, address])
    const waitMs = takeAll(counted, now)
    if (waitMs > 0) return { admitted: false, retryAfterSeconds: seconds(waitMs) }
    return {
      admitted: true,
      succeeded: () => {
        this.accountAddress?.reset(pair)
        this.account?.giveBack(account, now)
      },
    }
  }

  /**
   * A sign-up for `account` (an email key) from `address`: undefined when it may go ahead, else how many
   * seconds to wait. Counted whether or not the email turns out taken, so that the answer (201 or
   * EMAIL_TAKEN) cannot be asked for one account more often than the limit allows, from however many addresses.
   */
  signUp(account: string, address: string, now: number): number | undefined {
    const counted: Counted = []
    if (this.signUps) counted.push([this.signUps, address])
    if (this.accountSignUps) counted.push([this.accountSignUps, account])
    const waitMs = takeAll(counted, now)
    return waitMs > 0 ? seconds(waitMs) : undefined
  }
}

/** Counts the attempt in every limiter if all of them allow it; else counts nothing and says how long until all would. */
function takeAll(counted: Counted, now: number): number {
  const waitMs = Math.max(0, ...counted.map(([limiter, key]) => limiter.waitMs(key, now)))
  if (waitMs === 0) for (const [limiter, key] of counted) limiter.take(key, now)
  return waitMs
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/**
 * 429 `TOO_MANY_ATTEMPTS` as a problem, with `Retry-After` in seconds (also in the body). It does not say
 * which limit was reached: the per-account ones count unknown emails too, so it tells nobody whether an
 * account exists.
 */
export function tooManyAttempts(retryAfterSeconds: number): Response {
  const detail = `Too many attempts; try again in ${retryAfterSeconds} s`
  return problemResponse(problem(429, 'TOO_MANY_ATTEMPTS', detail, { retryAfter: retryAfterSeconds }), { 'Retry-After': String(retryAfterSeconds) })
}
