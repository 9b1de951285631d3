import { describe, expect, it } from 'vitest'
import { TidingsError, ValidationFailed } from '@tidings/core'
import { isInfrastructureError } from './infrastructure-error'

const withCode = (code: string) => Object.assign(new Error(`failed with ${code}`), { code })

describe('isInfrastructureError', () => {
  it.each([
    ['55P03', 'lock_not_available: lock_timeout while someone holds the row'],
    ['57014', 'query_canceled: statement_timeout'],
    ['25006', 'read_only_sql_transaction: writing to a replica during failover'],
    ['40001', 'serialization_failure'],
    ['40P01', 'deadlock_detected'],
    ['08006', 'connection_failure (class 08)'],
    ['08001', 'sqlclient_unable_to_establish_sqlconnection (class 08)'],
    ['53300', 'too_many_connections (class 53)'],
    ['53100', 'disk_full (class 53)'],
    ['57P01', 'admin_shutdown (57P)'],
    ['57P03', 'cannot_connect_now (57P)'],
    ['ECONNREFUSED', 'nothing listens'],
    ['EAI_AGAIN', 'DNS lookup failed for now'],
    ['ENETUNREACH', 'no route to the network'],
    ['ECONNABORTED', 'connection aborted'],
  ])('treats %s (%s) as infrastructure: retried, never dead-lettered', (code) => {
    expect(isInfrastructureError(withCode(code))).toBe(true)
  })

  it('treats a TidingsError of kind unavailable as infrastructure', () => {
    expect(isInfrastructureError(new TidingsError('FEED_UNAVAILABLE', 'unavailable', 'producer down'))).toBe(true)
  })

  it.each([
    ['a plain error', new Error('boom')],
    ['a validation error', new ValidationFailed([{ path: 'amount', message: 'Must be positive' }])],
    ['a validation TidingsError', new TidingsError('BAD_INPUT', 'validation', 'no')],
    ['a unique violation (23505)', withCode('23505')],
    ['not an error at all', undefined],
  ])('does not treat %s as infrastructure', (_what, error) => {
    expect(isInfrastructureError(error)).toBe(false)
  })
})
