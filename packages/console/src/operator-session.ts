import { createHmac, timingSafeEqual } from 'node:crypto'

/** The console's sign-in cookie: HttpOnly, SameSite=Strict, scoped to /console. */
export const SESSION_COOKIE = 'tidings_console'
/** A signed-in console stays so for a working day; then the operator token is asked again. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000

/**
 * Sessions signed with the operator token: `<expiry ms>.<HMAC-SHA256>`. Nothing is stored; the cookie never
 * holds the token itself, and changing the token ends every session.
 */
export function operatorSessions(operatorToken: string) {
  const mac = (expires: number): Buffer => createHmac('sha256', operatorToken).update(`tidings-console-session:${expires}`).digest()
  return {
    issue(now: number): string {
      const expires = now + SESSION_TTL_MS
      return `${expires}.${mac(expires).toString('base64url')}`
    },
    isValid(value: string | undefined, now: number): boolean {
      const match = /^(\d{13,15})\.([\w-]{43})$/.exec(value ?? '')
      if (!match) return false
      const expires = Number(match[1])
      if (expires <= now) return false
      // The text itself, not its decoded bytes: the last of 43 base64url characters has two spare bits,
      // so four spellings decode to one MAC, and an edited cookie must never pass.
      return timingSafeEqual(Buffer.from(match[2]!), Buffer.from(mac(expires).toString('base64url')))
    },
  }
}
