import { describe, expect, it } from 'vitest'
import * as core from './index'

describe('@tidings/core public surface', () => {
  it.each([
    'event',
    'parseEnvelope',
    'uuidv7',
    'isUuid',
    'systemClock',
    'manualClock',
    'TidingsError',
    'ValidationFailed',
    'MalformedEnvelope',
    'UnknownEventType',
    'InvalidPosition',
    'PayloadTooLarge',
    'UnknownFeed',
    'LeaseLost',
    'VersionConflict',
    'defaultRetryPolicy',
    'retryDelayMs',
    'isExhausted',
    'silentLogger',
    'Dispatcher',
    'decide',
    'START',
    'parsePosition',
    'formatPosition',
    'comparePositions',
    'isPosition',
    'formatToken',
    'parseToken',
    'consumer',
    'isPermanentFailure',
  ])('exports %s', (name) => {
    expect(core).toHaveProperty(name)
    expect((core as Record<string, unknown>)[name]).toBeDefined()
  })
})
