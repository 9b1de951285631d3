import { afterAll, describe, expect, it } from 'vitest'
import { uuidv7 } from '@tidings/core'
import {
  createLedgerTables,
  eventually,
  ledgerTotals,
  outOfOrderKeys,
  postgresReachable,
  startProcess,
  TEST_DATABASE_URL,
  testEngines,
  transactionsSettled,
  uniqueName,
  type ManagedProcess,
} from '@tidings/testing'
import { currentLeaseOwner } from '../leadership/lease'
import { migrate } from '../database/migrations'
import { OutboxFeed } from '../feed/outbox-feed'
import { platformMigrations } from '../database/platform-schema'
import { PgDatabase } from '../database/pg-database'
import { readCheckpoint } from './checkpoints'

await testEngines()
const reachable = await postgresReachable()

const producerScript = new URL('../../../testing/src/fixtures/ledger-producer.ts', import.meta.url)
const consumerScript = new URL('../../../testing/src/fixtures/ledger-consumer.ts', import.meta.url)
const LEASE = 'subscription:ledger'

const expectedSum = (commands: number): number => Array.from({ length: commands }, (_, i) => (i % 97) + 1).reduce((a, b) => a + b, 0)
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.runIf(reachable)('crash recovery on PostgreSQL (real processes, SIGKILL)', () => {
  const db = new PgDatabase({ connectionString: TEST_DATABASE_URL, maxConnections: 2 })
  const processes: ManagedProcess[] = []
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')))
    await db.close()
  })

  async function schemas() {
    const producerSchema = uniqueName('crash_prod')
    const consumerSchema = uniqueName('crash_cons')
    await migrate(db, producerSchema, 'tidings', platformMigrations)
    await migrate(db, consumerSchema, 'tidings', platformMigrations)
    await createLedgerTables(db, consumerSchema)
    return { producerSchema, consumerSchema }
  }

  function consumer(env: Record<string, string>, instanceId = uuidv7()): ManagedProcess & { instanceId: string } {
    const p = startProcess(`consumer ${instanceId}`, consumerScript, { ...env, DATABASE_URL: TEST_DATABASE_URL, INSTANCE_ID: instanceId })
    processes.push(p)
    return Object.assign(p, { instanceId })
  }

  async function drained(producerSchema: string, consumerSchema: string): Promise<void> {
    // The head is read below the server-wide horizon: let other tests' open transactions end first, or it
    // could be a position short of the last event and the wait would end early.
    await transactionsSettled(db)
    const head = await new OutboxFeed(db, producerSchema, 'test.accounts').head()
    await eventually(() => readCheckpoint(db, consumerSchema, 'ledger', 'test.accounts'), (p) => p === head, {
      timeoutMs: 120_000,
      what: 'consumer to reach the head of the feed',
    })
  }

  it('20,000 commands while consumers are SIGKILLed at random moments: exactly one effect per command', async () => {
    const commands = 20_000
    const { producerSchema, consumerSchema } = await schemas()
    const env = { PRODUCER_SCHEMA: producerSchema, CONSUMER_SCHEMA: consumerSchema, LEASE_TTL_MS: '1000', BATCH_SIZE: '50' }
    const producer = startProcess('producer', producerScript, {
      ...env,
      DATABASE_URL: TEST_DATABASE_URL,
      COMMANDS: String(commands),
      RATE: '800',
      CONCURRENCY: '8',
    })
    processes.push(producer)
    const consumers = [consumer(env), consumer(env)]
    await producer.waitForLine((l) => l === 'ready')

    let kills = 0
    let producerDone = false
    void producer.exited.then(() => (producerDone = true))
    while (!producerDone || kills < 20) {
      await pause(200 + Math.random() * 700)
      const owner = await currentLeaseOwner(db, consumerSchema, LEASE)
      const victimIndex = Math.max(0, consumers.findIndex((c) => c.instanceId === owner))
      await consumers[victimIndex]!.kill('SIGKILL')
      kills++
      consumers[victimIndex] = consumer(env)
      // The next kill waits for this one to start: on a loaded machine, a process started every 650 ms (a
      // second of CPU each to load) starves the producer and the consumers alike, and the test never ends.
      await consumers[victimIndex]!.waitForLine((l) => l === 'ready')
    }
    expect(await producer.exited).toBe(0)
    expect(producer.lines).toContain(`done ${commands} ${expectedSum(commands)}`)
    expect(kills).toBeGreaterThanOrEqual(20)

    await drained(producerSchema, consumerSchema)
    expect(await ledgerTotals(db, consumerSchema)).toEqual({ count: commands, sum: expectedSum(commands), distinct: commands })
    expect(await outOfOrderKeys(db, consumerSchema)).toEqual([])
    await Promise.all(consumers.map((c) => c.kill('SIGTERM')))
  }, 300_000)

  it('takeover: SIGKILL the active instance and the standby continues, nothing lost or doubled', async () => {
    const commands = 3_000
    const { producerSchema, consumerSchema } = await schemas()
    const env = { PRODUCER_SCHEMA: producerSchema, CONSUMER_SCHEMA: consumerSchema, LEASE_TTL_MS: '1500', BATCH_SIZE: '50' }
    const active = consumer(env)
    await eventually(() => currentLeaseOwner(db, consumerSchema, LEASE), (o) => o === active.instanceId, { what: 'first instance active' })
    const standby = consumer(env)
    await standby.waitForLine((l) => l === 'ready')
    const producer = startProcess('producer', producerScript, { ...env, DATABASE_URL: TEST_DATABASE_URL, COMMANDS: String(commands), RATE: '1000' })
    processes.push(producer)
    await eventually(() => ledgerTotals(db, consumerSchema), (t) => t.count > 500, { what: 'active instance applying events' })
    await active.kill('SIGKILL')
    await eventually(() => currentLeaseOwner(db, consumerSchema, LEASE), (o) => o === standby.instanceId, { what: 'standby to take the lease' })
    expect(await producer.exited).toBe(0)
    await drained(producerSchema, consumerSchema)
    expect(await ledgerTotals(db, consumerSchema)).toEqual({ count: commands, sum: expectedSum(commands), distinct: commands })
    expect(await outOfOrderKeys(db, consumerSchema)).toEqual([])
    await standby.kill('SIGTERM')
  }, 120_000)
})
