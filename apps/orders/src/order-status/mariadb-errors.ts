import { TidingsError } from '@tidings/core'

/**
 * The view's MariaDB failed, not the message: a lost or refused connection, a server shutting down or
 * killing the session, a deadlock or lock wait the store's own retries did not get past. Kind
 * `unavailable`, which the platform counts as an infrastructure failure: the consumer backs off and
 * retries without limit, and never dead-letters a healthy message for it (HTTP reads answer 503).
 */
export class ViewDatabaseUnavailable extends TidingsError {
  constructor(operation: string, cause: unknown) {
    super('VIEW_DATABASE_UNAVAILABLE', 'unavailable', `MariaDB ${operation} failed: ${reasonOf(cause)}`)
    this.cause = cause
  }
}

/** InnoDB chose this transaction as a deadlock's victim, or it waited too long for a row lock: try it again. */
export function isLockConflict(error: unknown): boolean {
  const { errno } = fieldsOf(error)
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT
}

/** The connection is unusable (mysql2 marks such errors `fatal`): it must not go back to the pool. */
export function isConnectionLost(error: unknown): boolean {
  return fieldsOf(error).fatal
}

/**
 * True for a failure of MariaDB or the network rather than of what was asked (the counterpart of
 * `isInfrastructureError` for PostgreSQL, which does not know mysql2's errors).
 */
export function isMariaDbInfrastructureError(error: unknown): boolean {
  const { code, errno, fatal, message } = fieldsOf(error)
  // mysql2 marks what leaves the connection unusable: lost (PROTOCOL_CONNECTION_LOST: the server closed
  // it, "gone away"), reset, refused, timed out, a broken handshake, a command on a closed connection.
  if (fatal) return true
  if (code !== undefined && NETWORK_CODES.has(code)) return true
  if (errno !== undefined && SERVER_ERRNOS.has(errno)) return true
  return message !== undefined && /^Pool is closed|Connection lost|closed state/i.test(message)
}

/** The error to throw for a MariaDB failure: infrastructure as `ViewDatabaseUnavailable`, anything else as it is. */
export function viewDatabaseError(operation: string, error: unknown): unknown {
  return isMariaDbInfrastructureError(error) ? new ViewDatabaseUnavailable(operation, error) : error
}

const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_LOCK_DEADLOCK = 1213

const NETWORK_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** Server errors that say nothing about the statement (MariaDB's numbers; mysql2 names only MySQL's). */
const SERVER_ERRNOS = new Set([
  1040, // ER_CON_COUNT_ERROR: too many connections
  1041, // ER_OUT_OF_RESOURCES
  1053, // ER_SERVER_SHUTDOWN
  1152, // ER_ABORTING_CONNECTION
  1158, 1159, 1160, 1161, // ER_NET_READ_ERROR, ER_NET_READ_INTERRUPTED, ER_NET_ERROR_ON_WRITE, ER_NET_WRITE_INTERRUPTED
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  ER_LOCK_WAIT_TIMEOUT,
  ER_LOCK_DEADLOCK,
  1290, // ER_OPTION_PREVENTS_STATEMENT: --read-only (a replica, a failover in progress)
  1317, // ER_QUERY_INTERRUPTED: KILL QUERY
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB): KILL
  1969, // ER_STATEMENT_TIMEOUT (MariaDB): max_statement_time
  4031, // ER_CLIENT_INTERACTION_TIMEOUT: wait_timeout closed an idle connection
])

function fieldsOf(error: unknown): { code?: string; errno?: number; fatal: boolean; message?: string } {
  if (!error || typeof error !== 'object') return { fatal: false }
  const e = error as { code?: unknown; errno?: unknown; fatal?: unknown; message?: unknown }
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
    fatal: e.fatal === true,
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
  }
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const { code } = fieldsOf(error)
  return code ? `${code}: ${error.message}` : error.message
}
