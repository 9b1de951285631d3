import { TidingsError } from '@tidings/core'

/**
 * True for failures of the database or network rather than of the message: a lost connection, a server
 * shutting down, a deadlock. They are retried without limit and never count toward dead-lettering, so an
 * outage cannot push healthy messages into the dead-letter store.
 */
export function isInfrastructureError(error: unknown): boolean {
  if (error instanceof TidingsError && error.kind === 'unavailable') return true
  const e = error as { code?: unknown; message?: unknown } | null
  if (!e || typeof e !== 'object') return false
  const code = typeof e.code === 'string' ? e.code : ''
  if (/^(08|53|57P|58)/.test(code)) return true
  // Serialization failure, deadlock, lock_timeout, statement_timeout, a write that reached a read-only
  // server (failover): the next attempt can succeed, so none of them says anything about the message.
  if (['40001', '40P01', '55P03', '57014', '25006'].includes(code)) return true
  if (['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) {
    return true
  }
  const message = typeof e.message === 'string' ? e.message : ''
  return /Connection terminated|connection timeout|Client has encountered a connection error|fetch failed|other side closed|PGlite is closed/i.test(
    message,
  )
}
