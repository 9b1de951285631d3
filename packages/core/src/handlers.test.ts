import { describe, expect, it } from 'vitest'
import { silentLogger } from './handlers'

describe('silentLogger', () => {
  it('accepts every level and returns nothing', () => {
    expect(silentLogger.info({ a: 1 }, 'info')).toBeUndefined()
    expect(silentLogger.warn({ err: new Error('x') })).toBeUndefined()
    expect(silentLogger.error({}, 'error')).toBeUndefined()
  })
})
