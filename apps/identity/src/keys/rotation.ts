/** When keys are made and when they go. */
export interface RotationPolicy {
  /** How long a key signs before the next one takes over (default 30 days). */
  rotateEveryMs: number
  /** How long a new key is published before it signs, so that every verifier has it first (default 10 min). */
  publishAheadMs: number
  /** How long a token lives: a key that stopped signing is published this much longer, plus a minute. */
  tokenTtlMs: number
}

export const DEFAULT_ROTATION: Omit<RotationPolicy, 'tokenTtlMs'> = { rotateEveryMs: 30 * 24 * 3600_000, publishAheadMs: 10 * 60_000 }

/** Clocks of the instances that verify may run a little behind the one that signed. */
const CLOCK_SKEW_MS = 60_000

export interface RotationPlan {
  /** Keys none of whose tokens can still be live: deleted, no longer published. */
  spent: string[]
  /** When a new key is due: from when it signs. */
  nextSignsFrom?: Date
}

/**
 * What the key ring should do now, given its keys ordered by when they start signing. The first key signs
 * at once; after that a new key is made `publishAheadMs` before the newest one has signed for
 * `rotateEveryMs`; a key is spent once its successor has signed for longer than a token lives.
 */
export function rotationPlan(keys: ReadonlyArray<{ kid: string; signsFrom: string }>, now: Date, policy: RotationPolicy): RotationPlan {
  const at = now.getTime()
  const newest = keys.at(-1)
  if (!newest) return { spent: [], nextSignsFrom: now }
  const spent = keys.filter((_, i) => {
    const successor = keys[i + 1]
    return successor !== undefined && Date.parse(successor.signsFrom) + policy.tokenTtlMs + CLOCK_SKEW_MS <= at
  })
  const due = Date.parse(newest.signsFrom) + policy.rotateEveryMs - policy.publishAheadMs <= at
  return { spent: spent.map((k) => k.kid), ...(due ? { nextSignsFrom: new Date(at + policy.publishAheadMs) } : {}) }
}
