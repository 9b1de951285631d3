import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ledgerTotals, outOfOrderKeys, startProcess, type ManagedProcess } from '@tidings/testing'
import { PgliteDatabase } from '../database/pglite-database'

const producerScript = new URL('../../../testing/src/fixtures/ledger-producer.ts', import.meta.url)
const consumerScript = new URL('../../../testing/src/fixtures/ledger-consumer.ts', import.meta.url)
const expectedSum = (commands: number): number => Array.from({ length: commands }, (_, i) => (i % 97) + 1).reduce((a, b) => a + b, 0)
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The embedded default across processes: a producer on its own PGlite serves its feed over HTTP; the
 * consumer, on another PGlite data directory, follows it and is SIGKILLed again and again.
 */
describe('crash recovery on PGlite (real processes, SIGKILL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-crash-'))
  const processes: ManagedProcess[] = []
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')))
    rmSync(dir, { recursive: true, force: true })
  })

  it('20,000 commands while the consumer is SIGKILLed at random moments: exactly one effect per command', async () => {
    const commands = 20_000
    const producer = startProcess('producer', producerScript, {
      DATA_DIR: join(dir, 'producer'),
      DATABASE_URL: '',
      PRODUCER_SCHEMA: 'accounts',
      SERVE_FEED: '1',
      COMMANDS: String(commands),
      RATE: '250',
      CONCURRENCY: '4',
    })
    processes.push(producer)
    const feedUrl = (await producer.waitForLine((l) => l.startsWith('feed '), 120_000)).slice('feed '.length)
    const env = { DATA_DIR: join(dir, 'consumer'), DATABASE_URL: '', CONSUMER_SCHEMA: 'ledger', FEED_URL: feedUrl, LEASE_TTL_MS: '1000', BATCH_SIZE: '50' }
    const startConsumer = () => {
      const p = startProcess('consumer', consumerScript, env)
      processes.push(p)
      return p
    }

    let consumer = startConsumer()
    let kills = 0
    let producerDone = false
    void producer.waitForLine((l) => l.startsWith('done '), 600_000).then(() => (producerDone = true))
    while (!producerDone || kills < 20) {
      // Usually once it is applying events, sometimes while it is still starting or recovering.
      if (Math.random() < 0.8) await consumer.waitForLine((l) => l.startsWith('progress '), 120_000).catch(() => {})
      await pause(Math.random() * 1500)
      await consumer.kill('SIGKILL')
      kills++
      consumer = startConsumer()
    }
    expect(producer.lines).toContain(`done ${commands} ${expectedSum(commands)}`)
    const head = (await producer.waitForLine((l) => l.startsWith('head '))).slice('head '.length)
    await consumer.waitForLine((l) => l === `progress ${head}`, 180_000)
    await consumer.kill('SIGTERM')
    expect(consumer.lines).toContain('stopped')
    await producer.kill('SIGTERM')

    const readModel = await PgliteDatabase.open({ dataDir: join(dir, 'consumer') })
    try {
      expect(await ledgerTotals(readModel, 'ledger')).toEqual({ count: commands, sum: expectedSum(commands), distinct: commands })
      expect(await outOfOrderKeys(readModel, 'ledger')).toEqual([])
    } finally {
      await readModel.close()
    }
    expect(kills).toBeGreaterThanOrEqual(20)
  }, 600_000)
})
