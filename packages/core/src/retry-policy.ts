/** Exponential backoff with "equal" jitter (half fixed, half random) and a bound on attempts. */
export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 30_000 }

/** Delay before attempt `attempt + 1`, given that `attempt` (1-based) just failed. `random` is in [0, 1). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: number = Math.random()): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}

export function isExhausted(policy: RetryPolicy, attempts: number): boolean {
  return attempts >= policy.maxAttempts
}
