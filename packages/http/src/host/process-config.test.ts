import { describe, expect, it } from 'vitest'
import { processConfig } from './process-config'

describe('processConfig', () => {
  it('has defaults for everything but the database, and listens on the loopback only unless told', () => {
    expect(processConfig({})).toEqual({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, dataDir: expect.stringMatching(/\/data$/), logLevel: 'info' })
    expect(processConfig({ HOST: '' }).host).toBe('127.0.0.1')
    expect(processConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0')
  })

  it('reads the port, the address, the database, its pool and the consistency bound', () => {
    const config = processConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: 'postgres://db/board', TIDINGS_DATABASE_POOL: '4', TIDINGS_CONSISTENCY_TIMEOUT_MS: '500' })
    expect(config).toMatchObject({ port: 0, host: '127.0.0.1', databaseUrl: 'postgres://db/board', databasePool: 4, consistencyTimeoutMs: 500 })
  })

  it('takes an empty PORT for unset (a compose file passing on a variable nobody set)', () => {
    expect(processConfig({ PORT: '' }).port).toBe(3000)
  })

  it.each([['TIDINGS_DATABASE_POOL', '0'], ['TIDINGS_DATABASE_POOL', 'ten'], ['TIDINGS_DATABASE_POOL', '2.5'], ['PORT', '70000'], ['PORT', ' '], ['PORT', '8e3'], ['TIDINGS_CONSISTENCY_TIMEOUT_MS', '-1'], ['TIDINGS_ALERT_WEBHOOK_URL', 'hooks.slack.com/x'], ['TIDINGS_ALERT_WEBHOOK_URL', 'file:///etc/passwd']])('refuses %s=%s, naming it', (name, value) => {
    expect(() => processConfig({ [name]: value })).toThrow(name)
  })

  it('reads the alert webhook, and never repeats it in an error (it carries a token)', () => {
    expect(processConfig({ TIDINGS_ALERT_WEBHOOK_URL: 'https://hooks.example/T0/B0/secret' }).alertWebhookUrl).toBe('https://hooks.example/T0/B0/secret')
    expect(() => processConfig({ TIDINGS_ALERT_WEBHOOK_URL: 'ftp://secret-token' })).toThrow(/^((?!secret-token).)*$/)
  })
})
