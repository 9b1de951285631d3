import type { Clock } from '@tidings/core'
import { InvalidToken, signToken, verifyToken } from '../auth'
import { uuid } from '@tidings/http'

/** Issues and checks the bearer tokens every board service accepts; the secret is shared by all of them. */
export interface MemberTokens {
  issue(memberId: string): { token: string; expiresAt: string }
  verify(token: string): { sub: string }
}

export function memberTokens(secret: Buffer, clock: Clock, ttlSeconds = 3600): MemberTokens {
  return {
    issue(memberId) {
      const now = clock.now()
      return { token: signToken({ sub: memberId }, secret, { now, ttlSeconds }), expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString() }
    },
    verify(token) {
      const claims = verifyToken(token, secret, clock.now())
      // Member ids are UUIDs: a subject that is not one was never issued here, and would reach a uuid column as a 500.
      const memberId = uuid.safeParse(claims.sub)
      if (!memberId.success) throw new InvalidToken()
      return { ...claims, sub: memberId.data }
    },
  }
}
