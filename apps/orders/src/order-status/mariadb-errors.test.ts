import { describe, expect, it } from 'vitest'
import { isInfrastructureError } from '@tidings/postgres'
import { isLockConflict, isMariaDbInfrastructureError, viewDatabaseError } from './mariadb-errors'

/** Errors shaped as mysql2 makes them. */
const withCode = (code: string, more: Record<string, unknown> = {}) => Object.assign(new Error(`failed with ${code}`), { code, ...more })
const serverError = (errno: number, code = 'ER_SOMETHING') => Object.assign(new Error(`server said ${errno}`), { code, errno, sqlState: 'HY000', fatal: false })

describe('MariaDB failures as the platform sees them', () => {
  it.each([
    ['PROTOCOL_CONNECTION_LOST', withCode('PROTOCOL_CONNECTION_LOST', { fatal: true })],
    ['ECONNRESET', withCode('ECONNRESET')],
    ['ECONNREFUSED', withCode('ECONNREFUSED', { errno: -111 })],
    ['ETIMEDOUT (connect)', withCode('ETIMEDOUT')],
    ['a command on a closed connection', Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true })],
    ['the pool closed under a shutdown', new Error('Pool is closed.')],
    ['ER_LOCK_DEADLOCK after the retries', serverError(1213, 'ER_LOCK_DEADLOCK')],
    ['ER_LOCK_WAIT_TIMEOUT after the retries', serverError(1205, 'ER_LOCK_WAIT_TIMEOUT')],
    ['ER_SERVER_SHUTDOWN', serverError(1053, 'ER_SERVER_SHUTDOWN')],
    ['ER_CON_COUNT_ERROR', serverError(1040, 'ER_CON_COUNT_ERROR')],
    ['ER_CONNECTION_KILLED (MariaDB)', serverError(1927)],
    ['ER_QUERY_INTERRUPTED', serverError(1317, 'ER_QUERY_INTERRUPTED')],
    ['ER_STATEMENT_TIMEOUT (MariaDB)', serverError(1969)],
    ['a read-only server (failover)', serverError(1290, 'ER_OPTION_PREVENTS_STATEMENT')],
  ])('%s is infrastructure: ViewDatabaseUnavailable, retried without limit, never dead-lettered', (_what, error) => {
    expect(isMariaDbInfrastructureError(error)).toBe(true)
    const thrown = viewDatabaseError('apply', error)
    expect(thrown).toMatchObject({ code: 'VIEW_DATABASE_UNAVAILABLE', kind: 'unavailable', cause: error })
    expect(isInfrastructureError(thrown)).toBe(true)
  })

  it.each([
    ['a duplicate key', serverError(1062, 'ER_DUP_ENTRY')],
    ['a value too long', serverError(1406, 'ER_DATA_TOO_LONG')],
    ['a syntax error', serverError(1064, 'ER_PARSE_ERROR')],
    ['a plain error', new Error('boom')],
  ])('%s is left as it is (the message may be at fault)', (_what, error) => {
    expect(isMariaDbInfrastructureError(error)).toBe(false)
    expect(viewDatabaseError('apply', error)).toBe(error)
  })

  it('retries only deadlocks and lock waits in the store', () => {
    expect(isLockConflict(serverError(1213))).toBe(true)
    expect(isLockConflict(serverError(1205))).toBe(true)
    expect(isLockConflict(withCode('PROTOCOL_CONNECTION_LOST', { fatal: true }))).toBe(false)
    expect(isLockConflict(undefined)).toBe(false)
  })
})
