import type { Rate } from './attempt-limiter'

/**
 * How often sign-in and sign-up may be tried. A limit left out is not applied. Password checks count
 * against an account *from an address*, so a stranger guessing cannot lock the member out from where they
 * sign in; the slower per-account limit holds a guesser with many addresses; the per-address limits hold
 * one address trying many accounts (or making many). Sign-ups are held per account too: from many
 * addresses, one email can be tried (is it taken?) or flooded only so often.
 */
export interface AbuseLimits {
  /** Wrong passwords for one account (email) from one address. */
  loginFailuresPerAccountAddress?: Rate | undefined
  /** Wrong passwords for one account from anywhere. */
  loginFailuresPerAccount?: Rate | undefined
  /** Log-ins from one address, right or wrong. */
  loginAttemptsPerAddress?: Rate | undefined
  /** Sign-ups from one address (ones the form accepted, taken emails included). */
  signUpsPerAddress?: Rate | undefined
  /** Sign-ups for one account (email, as sign-up stores it) from anywhere, taken or not. */
  signUpsPerAccount?: Rate | undefined
  /** How many proxies of ours in front append to `X-Forwarded-For` (default 0: the socket's peer is the client). */
  trustedProxies?: number | undefined
}

const MINUTE = 60_000

/** What `npm start` and the identity service's process apply unless the environment says otherwise. */
export const DEFAULT_ABUSE_LIMITS = {
  loginFailuresPerAccountAddress: { limit: 10, windowMs: 15 * MINUTE },
  loginFailuresPerAccount: { limit: 100, windowMs: 60 * MINUTE },
  loginAttemptsPerAddress: { limit: 30, windowMs: MINUTE },
  signUpsPerAddress: { limit: 5, windowMs: 10 * MINUTE },
  signUpsPerAccount: { limit: 5, windowMs: 60 * MINUTE },
  trustedProxies: 0,
} as const satisfies Required<AbuseLimits>

/** The environment variable of each limit: `<count>/<duration>` (`10/15m`; s, m, h) or `off`. */
export const ABUSE_LIMIT_VARIABLES = {
  loginFailuresPerAccountAddress: 'TIDINGS_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS',
  loginFailuresPerAccount: 'TIDINGS_LOGIN_FAILURES_PER_ACCOUNT',
  loginAttemptsPerAddress: 'TIDINGS_LOGIN_ATTEMPTS_PER_ADDRESS',
  signUpsPerAddress: 'TIDINGS_SIGNUPS_PER_ADDRESS',
  signUpsPerAccount: 'TIDINGS_SIGNUPS_PER_ACCOUNT',
} as const

/** How many proxies in front append the client's address to `X-Forwarded-For`; set it only behind such proxies. */
export const TRUST_PROXY = 'TIDINGS_TRUST_PROXY'

/** The defaults, with what the environment sets instead; a malformed value stops the start with its name. */
export function abuseLimitsFromEnv(env: NodeJS.ProcessEnv): AbuseLimits {
  const limits: AbuseLimits = { ...DEFAULT_ABUSE_LIMITS }
  for (const [field, name] of Object.entries(ABUSE_LIMIT_VARIABLES) as Array<[keyof typeof ABUSE_LIMIT_VARIABLES, string]>) {
    const value = env[name]
    if (value !== undefined && value !== '') limits[field] = parseRate(value, name)
  }
  const proxies = env[TRUST_PROXY]
  if (proxies !== undefined && proxies !== '') {
    if (!/^\d{1,2}$/.test(proxies)) throw new Error(`${TRUST_PROXY} is how many proxies in front append to X-Forwarded-For (0 to 99), not ${JSON.stringify(proxies)}`)
    limits.trustedProxies = Number(proxies)
  }
  return limits
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: MINUTE, h: 60 * MINUTE }

/** `10/15m` → 10 per 15 minutes; `off` → no limit. */
export function parseRate(text: string, name: string): Rate | undefined {
  if (text.trim().toLowerCase() === 'off') return undefined
  const match = /^\s*(\d{1,9})\s*\/\s*(\d{0,9})\s*([smh])\s*$/.exec(text)
  const limit = Number(match?.[1])
  const windowMs = Number(match?.[2] || 1) * (UNITS[match?.[3] ?? ''] ?? Number.NaN)
  if (!match || limit < 1 || !(windowMs > 0)) throw new Error(`${name} is <count>/<duration> (e.g. 10/15m; s, m or h) or off, not ${JSON.stringify(text)}`)
  return { limit, windowMs }
}
