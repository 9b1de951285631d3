import { systemClock, TidingsError, type Clock } from '@tidings/core'
import { IdentityUnavailable, TokenRevoked } from './auth-errors'
import type { MemberClaims } from './member-token'
import type { TokenVerifier } from './token-verifier'

/** What the identity service says of a member's tokens now. */
export interface MemberTokenState {
  /** Raised by signing out and by a password change: tokens issued under a lower version are refused. */
  tokenVersion: number
}

/**
 * A member's token state now, or `undefined` when there is no such member (never was, or removed). In the
 * identity service's process a read of its table; elsewhere its `/internal/members/:id/tokens` route.
 */
export type MemberTokenStateLookup = (memberId: string) => Promise<MemberTokenState | undefined>

/** A verifier that also asks whether the token's member still stands behind it; `forget` drops what it remembers of one. */
export type LiveTokenVerifier = TokenVerifier & {
  /** Call after a member's token version changed in this process, so the change takes effect at once here. */
  forget(memberId: string): void
}

export interface LiveMemberOptions {
  /** How long a member's state is remembered (default 5 s): a revocation reaches other processes within it. 0 asks every time. */
  ttlMs?: number
  /** How many members are remembered at most (default 10,000); the longest remembered go first. */
  maxMembers?: number
  clock?: Clock
}

export const DEFAULT_LIVE_MEMBER_TTL_MS = 5_000
const DEFAULT_MAX_MEMBERS = 10_000

interface Remembered {
  state: MemberTokenState | undefined
  until: number
}

/**
 * Checks a token's signature with `verify`, then that its member exists and has not revoked it since
 * (its `tv` is not the member's token version: signed out, password changed): else 401 `TOKEN_REVOKED`. The
 * member's state is remembered for `ttlMs`, so a busy member costs one lookup per TTL, and lookups of one
 * member in flight together are one. Per process: in another process a revocation takes effect within the
 * TTL; in the identity service's own, at once (`forget`). A lookup that fails is `IDENTITY_UNAVAILABLE`
 * (503), never a 401: the member did nothing wrong.
 */
export function liveMemberVerifier(verify: TokenVerifier, lookup: MemberTokenStateLookup, options: LiveMemberOptions = {}): LiveTokenVerifier {
  const ttlMs = options.ttlMs ?? DEFAULT_LIVE_MEMBER_TTL_MS
  const maxMembers = options.maxMembers ?? DEFAULT_MAX_MEMBERS
  const clock = options.clock ?? systemClock
  const remembered = new Map<string, Remembered>()
  const inFlight = new Map<string, Promise<MemberTokenState | undefined>>()
  // Bumped by every `forget`: a lookup that started before one must not remember what it read.
  let forgets = 0

  const fetchState = (memberId: string): Promise<MemberTokenState | undefined> => {
    const pending = inFlight.get(memberId)
    if (pending) return pending
    const startedAfter = forgets
    const fetched = lookup(memberId)
      .catch((error: unknown) => {
        throw error instanceof TidingsError && error.kind === 'unauthorized' ? error : new IdentityUnavailable({ cause: error })
      })
      .then((state) => {
        if (ttlMs > 0 && startedAfter === forgets) remember(memberId, state)
        return state
      })
      .finally(() => {
        if (inFlight.get(memberId) === fetched) inFlight.delete(memberId)
      })
    inFlight.set(memberId, fetched)
    return fetched
  }

  const remember = (memberId: string, state: MemberTokenState | undefined) => {
    remembered.delete(memberId)
    if (remembered.size >= maxMembers) remembered.delete(remembered.keys().next().value!)
    remembered.set(memberId, { state, until: clock.now().getTime() + ttlMs })
  }

  const stateOf = async (memberId: string): Promise<MemberTokenState | undefined> => {
    const known = remembered.get(memberId)
    if (known && known.until > clock.now().getTime()) return known.state
    if (known) remembered.delete(memberId)
    return fetchState(memberId)
  }

  const live = async (token: string): Promise<MemberClaims> => {
    const claims = await verify(token)
    const state = await stateOf(claims.sub)
    if (!state || claims.tv !== state.tokenVersion) throw new TokenRevoked()
    return claims
  }
  return Object.assign(live, {
    forget(memberId: string) {
      forgets++
      remembered.delete(memberId)
      inFlight.delete(memberId)
    },
  })
}
