import { networkInterfaces } from 'node:os'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '@tidings/core'
import { TEST_DATABASE_POOL, testEngines } from '@tidings/testing'
import { ServiceProcess } from './service-process'

/** A service main that runs any one service: the server's (packages never import apps; this only names the file). */
const SERVICE_MAIN = fileURLToPath(new URL('../../../apps/server/src/service-main.ts', import.meta.url))

const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[cluster] SKIPPED the service process test: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')

describe.runIf(engine !== undefined)('a service as a process of the cluster', () => {
  const running: ServiceProcess[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()))
  })

  it('listens on the loopback only, tells its supervisor where whatever its log level, and stops when asked', async () => {
    const { url } = await engine!.freshDatabase()
    const member = new ServiceProcess(SERVICE_MAIN, 'identity.member', {
      DATABASE_URL: url,
      LOG_LEVEL: 'warn', // no "listening on" line is logged
      TIDINGS_SERVICE_TOKEN: 'service-process-test-credential',
      TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
    }, silentLogger)
    running.push(member)
    await member.start()
    expect((await fetch(`${member.url}/readyz`)).status).toBe(200)
    // On the loopback only: from any other address of this machine, nothing answers.
    const other = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)
    if (other) await expect(fetch(member.url.replace('127.0.0.1', other.address))).rejects.toThrow()
    await member.stop()
    await expect(fetch(`${member.url}/readyz`)).rejects.toThrow()
  })
})
